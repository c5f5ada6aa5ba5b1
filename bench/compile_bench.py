#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compile-time benchmark: generated policies of 100 .. 100,000 profiles through
`tokenwarden check` and `tokenwarden compile`, wall time and peak RSS of each run.

  python3 bench/compile_bench.py [--tokenwarden build/tools/tokenwarden] [--sizes 100,1000,...]
                                 [--repeat 3] [--shape services|ranges]

Shapes:
  services  every profile is one service: its cgroup, its uid, its executable, a shared grants
            block plus its own program types and limits (what a host with many units looks like)
  ranges    every profile matches a uid range and a gid range (and a comm of its own, which the
            BPF backend indexes), which the shadow check cannot index by value (its worst case;
            it stops at a fixed budget and says so)
Prints one row per size and the time per profile, whose flatness shows linear growth.
"""
import argparse
import os
import pathlib
import subprocess
import tempfile
import time

PROG_TYPES = ["xdp", "sched_cls", "socket_filter", "cgroup_skb", "sched_act"]
ATTACH = {"xdp": "xdp", "sched_cls": "tcx_ingress", "socket_filter": "cgroup_inet_ingress",
          "cgroup_skb": "cgroup_inet_egress", "sched_act": "tcx_egress"}


def generate(n, shape):
    out = ["policy bench;", "default deny;", "preexisting deny;",
           "grants base {", "  allow cmd map_create, prog_load, btf_load;",
           "  allow map hash, array, ringbuf;", "  allow cap CAP_BPF;",
           "  limit max_entries 65536;", "  forbid map_flags mmapable;", "}"]
    for i in range(n):
        prog = PROG_TYPES[i % len(PROG_TYPES)]
        if shape == "services":
            match = (f'creator.uid == {100000 + i} and creator.cgroup under "/system.slice/svc-{i}.service"'
                     f' and creator.exe == "/usr/lib/svc-{i}/daemon"')
        else:
            # A comm of its own, so that the BPF backend can index it (a policy of range-only
            # alternatives beyond 256 is refused with E033); the shadow check still cannot.
            match = f'creator.uid in {i * 10}..{i * 10 + 5} and creator.gid in 0..9 and creator.comm == "w{i}"'
        out += [f"profile svc-{i} {{", f"  match {match};", "  use base;",
                f"  allow prog {prog};", f"  allow attach {ATTACH[prog]};",
                f"  limit maps {i % 64 + 1};", f"  limit insns {4096 * (i % 8 + 1)};", "}"]
    return "\n".join(out) + "\n"


def measure(cmd):
    """Runs cmd, returns (seconds, peak RSS in MiB, exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenwarden", default="build/tools/tokenwarden")
    ap.add_argument("--sizes", default="100,1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--shape", default="services", choices=["services", "ranges"])
    a = ap.parse_args()
    tw = str(pathlib.Path(a.tokenwarden).resolve())
    print(f"shape {a.shape}; best of {a.repeat} runs; {os.cpu_count()} cores")
    print(f"{'profiles':>9} {'source':>9} {'check s':>8} {'check MiB':>9} {'compile s':>9} {'compile MiB':>11} {'us/profile':>10} {'artifact':>9}")
    with tempfile.TemporaryDirectory() as d:
        for n in (int(s) for s in a.sizes.split(",")):
            src = pathlib.Path(d) / f"bench-{n}.tw"
            src.write_text(generate(n, a.shape))
            out = pathlib.Path(d) / f"bench-{n}.twp"
            check = min(measure([tw, "check", str(src)]) for _ in range(a.repeat))
            comp = min(measure([tw, "compile", str(src), "-o", str(out)]) for _ in range(a.repeat))
            if check[2] != 0 or comp[2] != 0:
                raise SystemExit(f"tokenwarden failed on {n} profiles (exit {check[2]}/{comp[2]})")
            print(f"{n:>9} {src.stat().st_size / 1e6:>7.1f}MB {check[0]:>8.3f} {check[1]:>9.0f} {comp[0]:>9.3f} {comp[1]:>11.0f}"
                  f" {comp[0] / n * 1e6:>10.1f} {out.stat().st_size / 1e6:>7.1f}MB")


if __name__ == "__main__":
    main()
