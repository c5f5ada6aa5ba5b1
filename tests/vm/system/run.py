#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The real-system flavour: a Debian testing system (systemd >= 258 as PID 1, udev, libbpf,
bpftool; scripts/vm/system-image.sh) booted on a stock Debian kernel, with tokenwarden installed
as an operator would (the binary, /etc/tokenwarden/policy.tw, the project's own units:
tokenwarden.service loads it before sysinit.target, tokenwarden-agent.service feeds the journal) and services that get their BPF delegation from systemd's own PrivateBPF=.

  run.py --kernel 6.12|7.x --tokenwarden BIN --demo-object demo.bpf.o --skeleton-client BIN --xdp-object xdp_pass.bpf.o
         --cgroup-skb-object cgroup_skb.bpf.o [--out DIR]
  run.py --kernel 6.12|7.x --packages DIR ...the same objects...

With --packages (the package flavour, tests/vm/system/package.sh), tokenwarden comes from the
.deb files in DIR (built for forky by scripts/package.sh), installed with `apt-get install
./...deb` into the image before it boots, as a real host's apt would; the guest then boots with the
package's units, upgrades to a next build (the same files under a higher version, so that every
maintainer script runs its upgrade path) with a policy loaded, purges, and installs again.

Prints the package versions, one line per case (PASS, FAIL, or KNOWN: a failure expected today,
with its reason) and the boot time; exit 0 when no case failed. The whole root filesystem is the
initramfs (no disk image, no modules needed); the guest's driver is tests/vm/system/run.sh.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
import vmrun  # noqa: E402  (qemu command line, kernel cache, the CI rule for tests that cannot run)

MEMORY = "2048"  # the root filesystem lives in RAM
UNITS = ["tw-system-test.service", "tw-libbpf.service", "tw-stranger.service", "tw-widened.service",
         "tw-by-cgroup.service", "tw-skeleton.service", "tw-xdp.service", "tw-xdp-noprobes.service",
         "tw-netagent.service", "flowlogd.service", "tw-boot-client.service", "tw-upgrade.service",
         "tw-maptype.service", "tw-progtype.service", "tw-quota.service", "gitlab-runner.service",
         "tw-kprobe.service", "tw-container-net.service", "tw-container.service"]
# tokenwarden.service is the project's own (units/tokenwarden.service.in), installed as a package
# would, for a binary in /usr/local/bin.
WANTED = {"tokenwarden.service": "sysinit.target", "tw-system-test.service": "multi-user.target",
          "tw-boot-client.service": "multi-user.target"}


def system_image():
    r = subprocess.run(["bash", str(ROOT / "scripts/vm/system-image.sh")], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("the system image could not be built (see the lines above)")
    return Path(r.stdout.strip().splitlines()[-1])


def in_chroot(root, command):
    """Runs a shell command as root in the image's root (scripts/lib/in-chroot.sh: a private mount
    namespace, nothing stays mounted). Returns (exit code, output)."""
    r = subprocess.run(["bash", str(ROOT / "scripts/lib/in-chroot.sh"), str(root), command],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode, r.stdout


def next_build(deb, out):
    """The same package under a higher version: what the next build of the tree is to dpkg."""
    tree = out / (deb.stem + ".tree")
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN/control"
    text = control.read_text()
    version = re.search(r"^Version: (.*)$", text, re.M).group(1)
    control.write_text(text.replace(f"Version: {version}", f"Version: {version}+next1"))
    target = out / deb.name.replace(f"_{version}_", f"_{version}+next1_")
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(target)], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(tree)
    return target


def install_packages(root, packages):
    """apt-get install ./tokenwarden*.deb in the image (dependencies resolved by apt from what
    the image has), and the next build beside them for the guest's upgrade."""
    debs = sorted(p for p in Path(packages).glob("tokenwarden*.deb") if "dbgsym" not in p.name)
    if len(debs) != 2:
        raise RuntimeError(f"expected tokenwarden and tokenwarden-selinux .deb files in {packages}, found {debs}")
    store = root / "var/cache/tw-debs"
    (store / "first").mkdir(parents=True)
    (store / "next").mkdir()
    for deb in debs:
        shutil.copy(deb, store / "first" / deb.name)
        next_build(deb, store / "next")
    rc, out = in_chroot(root, "cd /var/cache/tw-debs/first && apt-get install -y ./*.deb")
    log = root / "var/log/tw-apt-install.log"
    log.write_text(out)
    if rc != 0:
        raise RuntimeError("apt-get install of the packages failed in the image:\n" + out[-3000:])
    return [line for line in out.splitlines() if re.match(r"^(Setting up|tokenwarden-selinux:|Created symlink)", line)]


def build_initramfs(work, image, tokenwarden, demo_object, skeleton_client, xdp_object, cgroup_skb_object,
                    packages=None):
    root = work / "root"
    root.mkdir()
    subprocess.run(["tar", "-xf", str(image / "root.tar"), "-C", str(root)], check=True)
    installed = install_packages(root, packages) if packages else []
    (root / "etc/hostname").write_text("tw-system\n")
    # examples/ci-runner.tw's jobs run as uids 100000..165535: the runner's user.
    with open(root / "etc/passwd", "a") as f:
        f.write("gitlab-runner:x:100042:100042::/nonexistent:/usr/sbin/nologin\n")
    with open(root / "etc/group", "a") as f:
        f.write("gitlab-runner:x:100042:\n")
    (root / "etc/tokenwarden").mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "policy.tw", root / "etc/tokenwarden/policy.tw")
    os.chmod(root / "etc/tokenwarden/policy.tw", 0o644)
    if not packages:
        shutil.copy(tokenwarden, root / "usr/local/bin/tokenwarden")
    lib = root / "usr/local/lib/tw-system"
    lib.mkdir(parents=True)
    shutil.copy(HERE / ("package.sh" if packages else "run.sh"), lib / "run.sh")
    shutil.copy(demo_object, lib / "demo.bpf.o")
    shutil.copy(xdp_object, lib / "xdp_pass.bpf.o")
    shutil.copy(cgroup_skb_object, lib / "cgroup_skb.bpf.o")
    shutil.copy(skeleton_client, root / "usr/local/bin/tw-libbpf-client")
    # Other executables to the kernel (other inodes), same program.
    for name in ("bpftool-copy", "bpftool-strict", "bpftool-xdp", "bpftool-xdp-np", "bpftool-boot", "tw-upgraded",
                 "bpftool-maptype", "bpftool-progtype", "bpftool-quota"):
        shutil.copy(root / "usr/sbin/bpftool", root / "usr/local/sbin" / name)
    # The example policies, and bpftool as the executable examples/networking-agent.tw names.
    shutil.copytree(ROOT / "examples", root / "usr/local/share/tokenwarden/examples")
    shutil.copy(root / "usr/sbin/bpftool", root / "usr/local/bin/netagent")
    (root / "usr/lib/flowlogd").mkdir(parents=True)
    shutil.copy(root / "usr/sbin/bpftool", root / "usr/lib/flowlogd/flowlogd")
    units = root / "etc/systemd/system"
    for unit in UNITS:
        shutil.copy(HERE / unit, units / unit)
    for name in ("tokenwarden.service", "tokenwarden-agent.service"):
        if packages:
            break  # the package's own units, enabled by its postinst
        unit = (ROOT / "units" / f"{name}.in").read_text()
        unit = unit.replace("@CMAKE_INSTALL_FULL_BINDIR@", "/usr/local/bin")
        unit = unit.replace("@CMAKE_INSTALL_FULL_DOCDIR@", "/usr/local/share/doc/tokenwarden")
        (units / name).write_text(unit)
    # The test reads allowed decisions from the audit ring too. The agent is started by the test
    # (run.sh reads the ring itself before that: both consume it).
    (root / "etc/default").mkdir(exist_ok=True)
    (root / "etc/default/tokenwarden").write_text(
        "TOKENWARDEN_OPTS=--log-allowed\n"
        "TOKENWARDEN_AGENT_OPTS=--window=5 --metrics=/run/tokenwarden/metrics.prom --metrics-interval=2\n")
    for unit, target in WANTED.items():
        if packages and unit == "tokenwarden.service":
            continue
        wants = units / f"{target}.wants"
        wants.mkdir(exist_ok=True)
        os.symlink(f"../{unit}", wants / unit)
    # The serial console only: no login prompt interleaved with the results.
    getty = units / "serial-getty@ttyS0.service"
    os.symlink("/dev/null", getty)
    image_path = work / "system.cpio.gz"
    files = subprocess.run(["find", ".", "-mindepth", "1"], cwd=root, check=True, stdout=subprocess.PIPE).stdout
    with open(image_path, "wb") as out:
        cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1"], stdin=cpio.stdout, stdout=out)
        cpio.stdin.write(files)
        cpio.stdin.close()
        cpio.wait()
        gz.wait()
    shutil.rmtree(root)
    return image_path, installed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True, choices=["6.12", "7.x"])
    ap.add_argument("--tokenwarden", help="the tokenwarden binary (the packaged, dynamic one)")
    ap.add_argument("--packages", help="a directory with tokenwarden's .deb files for forky, installed instead")
    ap.add_argument("--demo-object", required=True, help="tests/helpers/demo.bpf.o, built")
    ap.add_argument("--skeleton-client", required=True, help="tw-libbpf-client (static)")
    ap.add_argument("--xdp-object", required=True, help="tests/helpers/xdp_pass.bpf.o, built")
    ap.add_argument("--cgroup-skb-object", required=True, help="tests/helpers/cgroup_skb.bpf.o, built")
    ap.add_argument("--out", default=None, help="where the console log goes")
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    if bool(args.tokenwarden) == bool(args.packages):
        ap.error("give either --tokenwarden or --packages")
    out = Path(args.out or tempfile.mkdtemp(prefix="tw-system-"))
    out.mkdir(parents=True, exist_ok=True)
    if not shutil.which(vmrun.QEMU):
        vmrun.cannot_run(f"{vmrun.QEMU} is not installed (scripts/install-deps.sh installs it)", out)
    cache, err = vmrun.fetch_cache()
    if err:
        vmrun.cannot_run(err, out)
    try:
        image = system_image()
    except RuntimeError as e:
        vmrun.cannot_run(str(e), out)
    print("image:", image.name, "|", " ".join((image / "versions.txt").read_text().split("\n")).strip())
    work = Path(tempfile.mkdtemp(prefix="tw-system-work-"))
    try:
        try:
            initrd, installed = build_initramfs(work, image, args.tokenwarden, args.demo_object, args.skeleton_client,
                                                args.xdp_object, args.cgroup_skb_object, args.packages)
        except RuntimeError as e:
            print(f"FAIL: {e}")
            return 1
        for line in installed:
            print("  image:", line)
        cmd = vmrun.qemu_command(cache / "kernels" / args.kernel / "vmlinuz", initrd,
                                 vmrun.CMDLINE.replace("quiet", "quiet rdinit=/sbin/init"))
        cmd[cmd.index("-m") + 1] = MEMORY
        console = out / f"console-{args.kernel}.log"
        started = time.monotonic()
        with open(console, "wb") as log:
            try:
                rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    timeout=args.timeout).returncode
            except subprocess.TimeoutExpired:
                rc = None
        seconds = time.monotonic() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = vmrun.console_text(console)
    booted = re.search(r"\[\s*([0-9.]+)\] .*TWSYS-BOOTED", text)
    versions = re.search(r"TWSYS-VERSIONS (.*?)\r?$", text, re.M)
    print(f"kernel {args.kernel}: {versions.group(1) if versions else '?'}")
    print(f"boot: the test driver started {booted.group(1) if booted else '?'} s after the kernel; "
          f"whole run {seconds:.0f} s (qemu exit {rc}); console: {console}")
    results = re.findall(r"TWSYS-RESULT (\S+) (PASS|FAIL|KNOWN) ?(.*?)\r?$", text, re.M)
    for name, status, detail in results:
        print(f"  {status:5} {name}: {detail}")
    failed = [n for n, s, _ in results if s == "FAIL"]
    if rc is None or "TWSYS-DONE" not in text or not results:
        print("the system did not finish its tests; the console's last lines:")
        print(vmrun.tail(text, 40))
        return 1
    passed = sum(1 for _, s, _ in results if s == "PASS")
    known = sum(1 for _, s, _ in results if s == "KNOWN")
    # The failures again, last: a long log is cut in the middle where CI shows it.
    for name, status, detail in results:
        if status == "FAIL":
            print(f"FAILED {name}: {detail}")
    print(f"{passed} passed, {len(failed)} failed ({known} known failures)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
