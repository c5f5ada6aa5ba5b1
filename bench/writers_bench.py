#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`replace` time and kernel memory at 1, 100 and 10,000 profiles, on this machine's kernel.

  sudo python3 bench/writers_bench.py [--tokenwarden build/tools/tokenwarden]
                                      [--fake-pins build/tests/tw-fake-pins] [--rounds 7]

A replace is kernel work (creating and filling a generation's maps, the flip, the RCU wait,
releasing the old slot) plus userspace (reading the artifact, laying the tables out). It needs no
program attached, so it runs on a private bpffs holding the enforcer's maps (tests/helpers/
fake_pins.cpp) where the host kernel refuses BPF LSM programs. Per size: the median of the
rounds' wall time, their system CPU time (the kernel's side, from wait4) and user CPU time, and
the live generation's kernel memory as `status` reports it (memlock of every map). Policies come
from bench/compile_bench.py's `services` shape, compiled once.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from compile_bench import generate  # noqa: E402


def timed(cmd):
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)}: {err.read().decode()}")
    return time.perf_counter() - start, usage.ru_utime, usage.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenwarden", default="build/tools/tokenwarden")
    ap.add_argument("--fake-pins", default="build/tests/tw-fake-pins")
    ap.add_argument("--sizes", default="1,100,10000")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="tw-writers-"))
    fs = work / "bpffs"
    fs.mkdir()
    subprocess.run(["mount", "-t", "bpf", "bpf", str(fs)], check=True)
    try:
        print(f"{'profiles':>9} {'wall':>9} {'kernel (sys)':>13} {'user':>9} {'kernel memory':>14}")
        for n in (int(x) for x in a.sizes.split(",")):
            src = work / f"p{n}.tw"
            src.write_text(generate(n, "services"))
            os.chmod(src, 0o644)
            art = work / f"p{n}.twp"
            subprocess.run([a.tokenwarden, "compile", str(src), "-o", str(art)], check=True,
                           stdout=subprocess.DEVNULL)
            root = fs / f"tw{n}"
            subprocess.run([a.fake_pins, str(root)], check=True)
            rows = []
            for _ in range(a.rounds + 1):  # the first writes generation 1 (nothing to release)
                rows.append(timed([a.tokenwarden, "replace", "--force", "--pin-root", str(root), str(art)]))
            rows = sorted(rows[1:])
            wall, user, sys_ = (sorted(r[i] for r in rows)[len(rows) // 2] for i in range(3))
            st = json.loads(subprocess.run([a.tokenwarden, "status", "--json", "--pin-root", str(root)],
                                           capture_output=True, text=True).stdout)
            mem = st.get("kernel_memory_bytes") or 0
            print(f"{n:>9} {wall * 1000:>7.1f} ms {sys_ * 1000:>10.1f} ms {user * 1000:>6.1f} ms "
                  f"{mem / 1048576:>10.1f} MiB")
            subprocess.run([a.tokenwarden, "unload", "--pin-root", str(root)], stdout=subprocess.DEVNULL)
    finally:
        subprocess.run(["umount", "-l", str(fs)])


if __name__ == "__main__":
    main()
