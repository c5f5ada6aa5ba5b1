#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Host tests for the ways around a restrictive tool (issue: fail-open replace, symlinked output,
stale staging, artifacts re-sealed by hand, unbounded reads, an orphaned delegate command).

  robustness_test.py TEST --tw BIN --fake-pins BIN [--rounds N]

The host kernel refuses BPF LSM programs, so the writers are exercised on a private bpffs with
the enforcer's exact maps and no programs (tw-fake-pins): everything `replace`, `status` and
`unload` do to the tables is real. What the programs make of those tables is tested in the VM
(case `robustness`). Each TEST exits 0 when it passed, 1 with the reasons when not, 77 when it
cannot run here (not root).
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SKIP = 77

# Two policies that differ in everything status can count: a mix of the two shows.
POLICY_A = """policy race-a;
default deny;
profile a1 { match creator.comm == "a1"; allow cmd map_create; allow map array; allow cap CAP_BPF; }
profile a2 { match creator.uid == 2001; allow cmd map_create; allow map hash; allow cap CAP_BPF; }
profile a3 { match creator.exe == "/bin/sh"; allow cmd map_create; allow map array; allow cap CAP_BPF; }
"""
POLICY_B = """policy race-b;
default deny;
""" + "".join(
    f'profile b{i} {{ match creator.uid == {3000 + i}; allow cmd map_create; allow map array; allow cap CAP_BPF; }}\n'
    for i in range(7))
PROFILES = {"race-a": 3, "race-b": 7}


class Failed(Exception):
    pass


def run(cmd, timeout=60, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


class Bpffs:
    """A private bpffs at a temporary directory, unmounted at exit."""

    def __enter__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="tw-robust-"))
        r = run(["mount", "-t", "bpf", "bpf", str(self.dir)])
        if r.returncode != 0:
            raise Failed(f"mount -t bpf: {r.stderr.strip()}")
        return self

    def __exit__(self, *exc):
        run(["umount", "-l", str(self.dir)])
        os.rmdir(self.dir)


class Ctx:
    def __init__(self, args, work):
        self.tw = args.tw
        self.fake = args.fake_pins
        self.rounds = args.rounds
        self.work = Path(work)
        self.a = self.work / "a.tw"
        self.b = self.work / "b.tw"
        self.a.write_text(POLICY_A)
        self.b.write_text(POLICY_B)
        self.bad = []

    def expect(self, ok, what):
        if not ok:
            self.bad.append(what)

    def pins(self, fs):
        root = fs.dir / "tokenwarden"
        r = run([self.fake, str(root)])
        if r.returncode != 0:
            raise Failed("tw-fake-pins: " + r.stderr)
        r = run([self.tw, "replace", "--pin-root", str(root), str(self.a)])
        if r.returncode != 0:
            raise Failed("first replace: " + r.stdout + r.stderr)
        return root

    def status(self, root):
        r = run([self.tw, "status", "--json", "--pin-root", str(root)])
        try:
            return r.returncode, json.loads(r.stdout)
        except json.JSONDecodeError:
            return r.returncode, {"unparsable": r.stdout + r.stderr}

    def complete(self, root, what):
        """Exactly one complete policy is live: `status` agrees with itself and with the policy."""
        rc, st = self.status(root)
        name = st.get("policy")
        ok = (rc == 0 and st.get("complete") is True and name in PROFILES
              and st.get("profiles") == PROFILES[name])
        self.expect(ok, f"{what}: status exit {rc}, policy {name!r}, profiles {st.get('profiles')}, "
                        f"problems {st.get('problems')}")
        return st

    def leftovers(self, fs):
        # maps.debug and progs.debug are the kernel's own (bpffs preload iterators).
        return sorted(p.name for p in fs.dir.iterdir() if p.name not in ("tokenwarden", "maps.debug", "progs.debug"))


def test_race(c):
    """Two `replace`s started 0 to 99 ms apart, N rounds: every round ends with one complete
    policy, each successful replace gets its own generation."""
    with Bpffs() as fs:
        root = c.pins(fs)
        gen = c.status(root)[1]["generation"]
        same_generation = 0
        for i in range(c.rounds):
            first, second = (c.a, c.b) if i % 2 else (c.b, c.a)
            p1 = subprocess.Popen([c.tw, "replace", "--pin-root", str(root), str(first)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(random.uniform(0, 0.099))
            p2 = subprocess.Popen([c.tw, "replace", "--pin-root", str(root), str(second)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            outs = [p.communicate(timeout=120) for p in (p1, p2)]
            codes = [p1.returncode, p2.returncode]
            c.expect(codes == [0, 0], f"round {i}: exits {codes}: {outs}")
            gens = [int(o[0].rsplit("generation ", 1)[1]) for o in outs if "generation " in o[0]]
            if len(gens) == 2 and gens[0] == gens[1]:
                same_generation += 1
            st = c.complete(root, f"round {i}")
            gen += 2
            c.expect(st.get("generation") == gen, f"round {i}: generation {st.get('generation')}, expected {gen}")
            if len(c.bad) > 10:
                break
        c.expect(same_generation == 0, f"{same_generation} rounds gave both replaces one generation")
        c.expect(not c.leftovers(fs), f"left beside the pin root: {c.leftovers(fs)}")
        print(f"{c.rounds} rounds of two concurrent replaces: {len(c.bad)} problems, final generation {gen}")


def test_lock_wait(c):
    """A writer that cannot have the lock within --wait says who holds it and changes nothing."""
    with Bpffs() as fs:
        root = c.pins(fs)
        # Hold the lock the way a writer does: flock on the pin root's parent.
        holder = subprocess.Popen(["flock", str(fs.dir), "sleep", "30"], start_new_session=True)
        try:
            time.sleep(0.3)
            r = run([c.tw, "replace", "--wait", "0.5", "--pin-root", str(root), str(c.b)])
            c.expect(r.returncode == 2, f"replace while locked: exit {r.returncode}")
            c.expect("EBUSY" in r.stderr and f"pid {holder.pid}" in r.stderr,
                     f"replace while locked does not name the holder: {r.stderr.strip()}")
            c.expect("previous policy is still enforcing" not in r.stdout, "odd output")
        finally:
            os.killpg(holder.pid, signal.SIGKILL)  # flock and its sleep, which holds the lock too
            holder.wait()
        st = c.complete(root, "after the refused replace")
        c.expect(st.get("policy") == "race-a", f"policy {st.get('policy')} after a refused replace")


def test_kill_replace(c):
    """SIGKILL of `replace` at each of its steps, and at random times: always one complete
    policy, old or new, and the next writer clears what the killed one left in the idle slot."""
    steps = ["replace-inner-filled", "replace-slot-written", "replace-flipped", "replace-released"]
    with Bpffs() as fs:
        root = c.pins(fs)
        for step in steps:
            before = c.status(root)[1].get("policy")
            r = run([c.tw, "replace", "--pin-root", str(root), str(c.b if before == "race-a" else c.a)],
                    env=dict(os.environ, TW_FAULT_KILL_AT=step))
            c.expect(r.returncode == -signal.SIGKILL, f"{step}: replace exit {r.returncode}, not killed")
            r = run([c.tw, "status", "--pin-root", str(root)])
            if step in ("replace-slot-written", "replace-flipped"):
                c.expect("cleared" in r.stderr and "idle slot" in r.stderr,
                         f"killed at {step}: the next status did not clear the idle slot: {r.stderr.strip()}")
            st = c.complete(root, f"killed at {step}")
            after = st.get("policy")
            switched = step in ("replace-flipped", "replace-released")
            c.expect((after != before) == switched, f"killed at {step}: policy {before} -> {after}")
            r2 = run([c.tw, "status", "--pin-root", str(root)])
            c.expect("note:" not in r2.stderr, f"after {step}: a second cleanup: {r2.stderr.strip()}")
        for i in range(20):
            p = subprocess.Popen([c.tw, "replace", "--pin-root", str(root), str(c.a if i % 2 else c.b)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(random.uniform(0, 0.05))
            p.send_signal(signal.SIGKILL)
            p.wait()
            c.complete(root, f"random kill {i}")
        c.expect(not c.leftovers(fs), f"left beside the pin root: {c.leftovers(fs)}")


def test_stale_staging(c):
    """A killed load's staging directory and a killed unload's removal directory (with pins in
    them) are reported and removed by the next status, load or unload; an unload killed after
    its rename leaves nothing `status` calls loaded."""
    with Bpffs() as fs:
        # (`load` cleans up too, after its kernel check: the VM case shows it.)
        for verb in (["status"], ["unload"], ["replace", str(c.a)]):
            for kind in ("staging", "removing"):
                d = fs.dir / f"tokenwarden-{kind}-4242"
                d.mkdir()
                for name in ("ctl", "link_tw_token_create"):
                    r = run([c.fake, "--map", str(d / name)])
                    if r.returncode != 0:
                        raise Failed(r.stderr)
            r = run([c.tw] + verb[:1] + ["--pin-root", str(fs.dir / "tokenwarden")] + verb[1:])
            c.expect(r.stderr.count("note: removed") == 2 and "(pid 4242)" in r.stderr,
                     f"{verb[0]}: cleanup not reported: {r.stderr.strip()}")
            c.expect(not c.leftovers(fs), f"{verb[0]}: left {c.leftovers(fs)}")
        root = c.pins(fs)
        r = run([c.tw, "unload", "--pin-root", str(root)], env=dict(os.environ, TW_FAULT_KILL_AT="remove-renamed"))
        c.expect(r.returncode == -signal.SIGKILL, f"unload exit {r.returncode}, not killed")
        rc, st = c.status(root)
        c.expect(rc == 0 and st.get("loaded") is False, f"status after a killed unload: {rc} {st}")
        c.expect(not c.leftovers(fs) and not root.exists(), f"after a killed unload: {c.leftovers(fs)}")


def test_incomplete_status(c):
    """A live slot whose tables were removed behind tokenwarden's back: `status` says so loudly
    and exits 2 (the programs refuse every token decision then; VM case `robustness`)."""
    with Bpffs() as fs:
        root = c.pins(fs)
        # The live slot of gen_profiles, deleted with bpftool (a writer outside tokenwarden).
        r = run(["bpftool", "-j", "map", "lookup", "pinned", str(root / "ctl"), "key", "0", "0", "0", "0"])
        if r.returncode != 0:
            raise Failed("bpftool map lookup ctl: " + r.stderr)
        slot = int(json.loads(r.stdout)["value"][0], 16) & 1  # struct tw_ctl starts with the slot
        r = run(["bpftool", "map", "delete", "pinned", str(root / "gen_profiles"), "key", str(slot), "0", "0", "0"])
        c.expect(r.returncode == 0, "bpftool map delete: " + r.stderr)
        rc, st = c.status(root)
        c.expect(rc == 2 and st.get("complete") is False and any("gen_profiles" in p for p in st.get("problems", [])),
                 f"status --json on an incomplete slot: exit {rc}, {st.get('complete')}, {st.get('problems')}")
        r = run([c.tw, "status", "--pin-root", str(root)])
        c.expect(r.returncode == 2 and r.stdout.startswith("WARNING: the live policy is INCOMPLETE"),
                 f"status text: exit {r.returncode}: {r.stdout[:200]}")
        r = run([c.tw, "replace", "--pin-root", str(root), str(c.b)])
        c.complete(root, "a replace after the damage")


def test_output_symlink(c):
    """`compile -o` never follows what another user planted: a symlink at PATH.tmp or at PATH
    itself is replaced by a new file; the file it pointed to is untouched."""
    victim = c.work / "root-only"
    victim.write_text("precious\n")
    os.chmod(victim, 0o600)
    out = c.work / "x.twp"
    for planted in (Path(str(out) + ".tmp"), out):
        for p in (Path(str(out) + ".tmp"), out):
            if p.is_symlink() or p.exists():
                p.unlink()
        os.symlink(victim, planted)
        r = run([c.tw, "compile", str(c.a), "-o", str(out)])
        c.expect(r.returncode == 0, f"compile with a symlink at {planted.name}: {r.stderr}")
        c.expect(victim.read_text() == "precious\n", f"a symlink at {planted.name} was followed")
        c.expect(out.exists() and not out.is_symlink(), f"{out.name} is not a regular file")
        c.expect(out.read_text().startswith('{"compiler"'), f"{out.name} is not an artifact")
    c.expect(not [p for p in c.work.iterdir() if p.name.startswith(".x.twp")], "temporary files left behind")


def test_load_checks(c):
    """load and replace refuse, before touching the kernel: a policy file another user could
    write, a hash other than --expect-sha256, a policy with no profiles without --force."""
    with Bpffs() as fs:
        root = c.pins(fs)
        art = c.work / "b.twp"
        run([c.tw, "compile", str(c.b), "-o", str(art)])
        r = run([c.tw, "replace", "--pin-root", str(root), "--expect-sha256", "00" * 32, str(art)])
        c.expect(r.returncode == 1 and "not the expected" in r.stderr, f"wrong --expect-sha256: {r.returncode} {r.stderr}")
        r = run([c.tw, "replace", "--pin-root", str(root), str(art)])
        good = c.status(root)[1]["sha256"]
        r = run([c.tw, "replace", "--pin-root", str(root), "--expect-sha256", good.upper(), str(art)])
        c.expect(r.returncode == 0, f"the right --expect-sha256 (upper case): {r.returncode} {r.stderr}")
        for mode, owner, says in ((0o664, 0, "may write it"), (0o646, 0, "everyone may write it"),
                                  (0o644, 65534, "belongs to uid 65534")):
            os.chown(art, owner, 0)
            os.chmod(art, mode)
            r = run([c.tw, "replace", "--pin-root", str(root), str(art)])
            c.expect(r.returncode == 1 and says in r.stderr and "chmod go-w" in r.stderr,
                     f"mode {mode:o} owner {owner}: {r.returncode} {r.stderr.strip()}")
            r = run([c.tw, "load", "--pin-root", str(fs.dir / "other"), str(art)])
            c.expect(r.returncode == 1 and says in r.stderr, f"load, mode {mode:o} owner {owner}: {r.returncode}")
        os.chown(art, 0, 0)
        os.chmod(art, 0o644)
        empty = c.work / "empty.tw"
        empty.write_text("policy empty;\ndefault deny;\n")
        for verb in ("load", "replace"):
            r = run([c.tw, verb, "--pin-root", str(root), str(empty)])
            c.expect(r.returncode == 1 and "refuses every BPF token" in r.stderr and "--force" in r.stderr,
                     f"{verb} of an empty policy: {r.returncode} {r.stderr.strip()}")
        r = run([c.tw, "replace", "--force", "--pin-root", str(root), str(empty)])
        c.expect(r.returncode == 0, f"replace --force of an empty policy: {r.returncode} {r.stderr.strip()}")
        st = c.status(root)[1]
        c.expect(st.get("policy") == "empty" and st.get("complete") is True, f"after --force: {st}")


def test_read_bounds(c):
    """Reading never hangs or exhausts memory: devices, FIFOs, huge files and include bombs are
    errors with the include's location, each within seconds."""
    w = c.work
    fifo = w / "fifo"
    os.mkfifo(fifo)
    sparse = w / "sparse.tw"
    with open(sparse, "wb") as f:
        f.truncate(1 << 30)
    (w / "inc-fifo.tw").write_text('include "fifo";\n')
    (w / "inc-zero.tw").write_text('include "/dev/zero";\n')
    bomb = w / "bomb"
    bomb.mkdir()
    for d in "abc":
        os.symlink(".", bomb / d)
    (bomb / "x.tw").write_text('include "a/x.tw";\ninclude "b/x.tw";\ninclude "c/x.tw";\n')
    small = w / "small.tw"
    small.write_text(POLICY_A)
    cases = [
        (["check", "/dev/zero"], "is a device"),
        (["check", "/dev/urandom"], "is a device"),
        (["check", str(fifo)], "is a FIFO"),
        (["check", str(sparse)], "files are read up to"),
        (["check", str(w / "inc-fifo.tw")], "inc-fifo.tw:1:9: error[E015]: cannot read `"),
        (["check", str(w / "inc-zero.tw")], "inc-zero.tw:1:9: error[E015]"),
        (["check", str(bomb / "x.tw")], "error[E016]"),
        (["test", str(small), "/dev/zero"], "is a device"),
        (["--max-file-size", "100", "check", str(small)], "files are read up to 100 bytes"),
        (["check", "--max-file-size", "100", str(small)], "files are read up to 100 bytes"),
    ]
    for args, says in cases:
        start = time.monotonic()
        try:
            r = run([c.tw] + args, timeout=20)
        except subprocess.TimeoutExpired:
            c.expect(False, f"{args}: still running after 20 s")
            continue
        took = time.monotonic() - start
        c.expect(r.returncode == 1 and says in r.stderr, f"{args}: exit {r.returncode}: {r.stderr.strip()[:300]}")
        c.expect(took < 10, f"{args}: took {took:.1f} s")
        c.expect(len(r.stderr) < 20000, f"{args}: {len(r.stderr)} bytes of diagnostics")
    r = run([c.tw, "check", str(small)])
    c.expect(r.returncode == 0, f"a small policy no longer checks: {r.stderr}")


def test_delegate_signals(c):
    """`delegate` passes SIGTERM, SIGINT and SIGHUP on and returns the command's status; if it
    is SIGKILLed its command dies too. Never an orphan under PID 1."""
    def command_alive(tag):  # the command itself, not `delegate` (whose arguments name it too)
        return run(["pgrep", "-f", "^" + tag]).returncode == 0

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL):
        tag = f"sleep {37 + int(sig)}.5"
        p = subprocess.Popen([c.tw, "delegate", "--cmds", "map_create", "--", "sh", "-c", f"exec {tag}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(100):
            if command_alive(tag):
                break
            time.sleep(0.05)
        c.expect(command_alive(tag), f"{sig.name}: the command never started")
        p.send_signal(sig)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = None
        want = -signal.SIGKILL if sig == signal.SIGKILL else 128 + int(sig)
        c.expect(rc == want, f"{sig.name}: delegate exit {rc}, expected {want}")
        for _ in range(100):
            if not command_alive(tag):
                break
            time.sleep(0.05)
        c.expect(not command_alive(tag), f"{sig.name}: `{tag}` outlived delegate")
        run(["pkill", "-f", tag])


def test_agent_follows(c):
    """The agent (printing, as without a journal) waits for a policy, reads the ring of the one
    that appears, writes the metrics `status --prometheus` prints, and goes back to waiting when
    it is unloaded; the metrics file is replaced whole each time."""
    with Bpffs() as fs:
        root = fs.dir / "tokenwarden"
        metrics = c.work / "tw.prom"
        agent = subprocess.Popen([c.tw, "agent", "--stdout", "--pin-root", str(root), "--metrics", str(metrics),
                                  "--metrics-interval", "1", "--exit-after", "9"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1.5)
        c.pins(fs)  # a policy appears (fake pins, then a replace)
        time.sleep(3)
        prom = metrics.read_text() if metrics.exists() else ""
        _, st = c.status(root)
        generation = f"tokenwarden_policy_generation {st.get('generation')}\n"
        r = run([c.tw, "status", "--prometheus", "--pin-root", str(root)])
        c.expect(r.returncode == 0 and generation in r.stdout and f'policy="{st.get("policy")}"' in r.stdout,
                 f"status --prometheus: exit {r.returncode}: {r.stdout[:300]}")
        c.expect(generation in prom and "# TYPE tokenwarden_decisions_total counter" in prom,
                 f"the agent's metrics file: {prom[:300]!r}")
        r = run([c.tw, "unload", "--pin-root", str(root)])
        c.expect(r.returncode == 0, "unload: " + r.stderr)
        out, _ = agent.communicate(timeout=30)
        c.expect(agent.returncode == 0, f"agent exit {agent.returncode}")
        lines = out.splitlines()
        waiting = [i for i, l in enumerate(lines) if l.startswith("no policy is loaded")]
        reading = [i for i, l in enumerate(lines) if l.startswith("reading the audit events of policy")]
        c.expect(len(waiting) == 2 and len(reading) == 1 and waiting[0] < reading[0] < waiting[1],
                 "the agent should wait, read, then wait again after the unload: " + " | ".join(lines))
        c.expect(not [p for p in c.work.iterdir() if p.name.startswith(".tw.prom")], "temporary metrics files left")


TESTS = {
    "agent_follows": test_agent_follows,
    "race": test_race,
    "lock_wait": test_lock_wait,
    "kill_replace": test_kill_replace,
    "stale_staging": test_stale_staging,
    "incomplete_status": test_incomplete_status,
    "output_symlink": test_output_symlink,
    "load_checks": test_load_checks,
    "read_bounds": test_read_bounds,
    "delegate_signals": test_delegate_signals,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=sorted(TESTS))
    ap.add_argument("--tw", required=True)
    ap.add_argument("--fake-pins", required=True)
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIPPED: needs root (bpffs mounts, delegation)")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="tw-robust-work-") as work:
        os.chmod(work, 0o755)
        c = Ctx(args, work)
        try:
            TESTS[args.test](c)
        except Failed as e:
            c.bad.append(str(e))
        if c.bad:
            print(f"FAILED: {args.test}: {len(c.bad)} problem(s)")
            for b in c.bad[:30]:
                print("  - " + b)
            return 1
    print(f"passed: {args.test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
