#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The tables of bench/hooks_bench.sh, from the test VM's console log (the TWVM-* lines of the
bench_hooks case): per hook and configuration the median round with its spread, ratios to the
trivial program, the floor and the policy's floor; calls per operation; load and replace times;
map-create latency.

    python3 bench/hooks_report.py CONSOLE-LOG [CONSOLE-LOG...]

Several logs (boots of one kernel) pool their rounds: a figure is then the median of all rounds.
"""
import argparse
import re
import statistics
import sys

HOOKS = ["token_create", "token_cmd", "token_capable", "map_create", "prog_load", "token_free"]
GUARD = ["guard_bpf", "guard_map", "guard_prog"]


def parse(lines):
    rows, latency, machine, calls, loads = {}, {}, [], [], {}
    for line in lines:
        line = line.strip()
        if " " not in line:
            continue
        kind, rest = line.split(" ", 1)
        if kind == "TWVM-MACHINE":
            machine.append(rest)
        elif kind == "TWVM-CALLS":
            calls.append(rest)
        elif kind == "TWVM-LATENCY":
            label, ns = rest.rsplit(" ", 1)
            latency.setdefault(label, []).append(float(ns))
        elif kind == "TWVM-LOAD":
            m = re.match(r"profiles=(\d+) (\w+) rc=(-?\d+) wall=([\d.]+) user=([\d.]+) sys=([\d.]+) memory=(\d+)", rest)
            if m:
                n, op, rc, wall, user, sys_, mem = m.groups()
                loads.setdefault((int(n), op), []).append((int(rc), float(wall), float(user), float(sys_), int(mem)))
        elif kind == "TWVM-BENCH":
            m = re.match(r"(trivial|floor-policy|floor|tokenwarden profiles=\d+) (.*)", rest)
            if not m:
                continue
            label, cells = m.groups()
            for h, ns, n in re.findall(r"(\w+)=(\d+)ns/(\d+)", cells):
                rows.setdefault(label, {}).setdefault(h, []).append((float(ns), int(n)))
    return rows, latency, machine, calls, loads


def median(xs):
    return statistics.median(xs) if xs else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log", nargs="+")
    args = ap.parse_args()
    lines = []
    for path in args.log:
        with open(path, "rb") as f:
            text = f.read().replace(b"\0", b"").decode("utf-8", "replace").splitlines()
        if not any(line.startswith("TWVM-BENCH ") for line in text):
            sys.exit(f"{path}: no TWVM-BENCH lines (did the bench_hooks case run?)")
        lines += text
    rows, latency, machine, calls, loads = parse(lines)
    machine = list(dict.fromkeys(machine))
    calls = list(dict.fromkeys(calls))

    icount = next((m.group(1) for m in (re.search(r"tw\.icount=(\d+)", x) for x in machine) if m), None)
    # Under `-icount shift=0` (bench/hooks_bench.sh) a guest nanosecond is one instruction executed.
    unit = "insns" if icount == "0" else "ns"
    if icount is not None:
        print(f"guest clock: -icount shift={icount}: each instruction executed advances it {2 ** int(icount)} ns,")
        print(f"deterministically; figures below in '{unit}' are {'instructions' if unit == 'insns' else 'guest time'}\n")
    print("machine:")
    for m in machine:
        print(f"  {m}")
    print()
    print("hook calls per token-backed operation (floor attached):")
    for c in calls:
        print(f"  {c}")
    print()

    med = {label: {h: median([x[0] for x in v]) for h, v in r.items()} for label, r in rows.items()}
    n_rounds = max(len(v) for r in rows.values() for v in r.values())
    print(f"{unit} per invocation: median of {n_rounds} rounds [min..max], calls per round; then the ratio of the")
    print("medians to the trivial program (t), the floor (f: one hash lookup of the token) and the policy's")
    print("floor (p: the reads and counts this policy needs, nothing else)")
    for h in HOOKS:
        print(f"\n{h}")
        for label, r in rows.items():
            v = r.get(h, [])
            if not v:
                continue
            ns = [x[0] for x in v]
            m = med[label][h]
            cells = f"  {label:28}{m:>9.0f} [{min(ns):.0f}..{max(ns):.0f}] x{v[0][1]}"
            ratios = []
            for base, tag in (("trivial", "t"), ("floor", "f"), ("floor-policy", "p")):
                b = med.get(base, {}).get(h, 0)
                if b and label != base and label != "trivial" and not (label.startswith("floor") and base == "floor-policy"):
                    ratios.append(f"{m / b:.2f}x{tag}")
            print(cells + "  " + " ".join(ratios))

    print("\nratio to the floor | ratio to the policy's floor, per hook (medians)")
    print(f"  {'':28}" + "".join(f"{h:>22}" for h in HOOKS))
    for label in rows:
        if not label.startswith("tokenwarden"):
            continue
        cells = []
        for h in HOOKS:
            f, p, m = med.get("floor", {}).get(h, 0), med.get("floor-policy", {}).get(h, 0), med[label].get(h, 0)
            cells.append(f"{m / f if f else 0:.2f}x | {m / p if p else 0:.2f}x")
        print(f"  {label:28}" + "".join(f"{c:>22}" for c in cells))

    print(f"\nthe guard (tokenwarden only): {unit} per invocation, median [min..max]")
    for label, r in rows.items():
        if label.startswith("tokenwarden"):
            cells = []
            for h in GUARD:
                ns = [x[0] for x in r.get(h, [])]
                cells.append(f"{h}={median(ns):.0f} [{min(ns, default=0):.0f}..{max(ns, default=0):.0f}]")
            print(f"  {label:28}" + "  ".join(cells))

    if loads:
        ms = "ms of guest time, i.e. millions of instructions" if unit == "insns" else "ms"
        print(f"\nload, replace, unload ({ms}, median of rounds: wall / user / system) and kernel memory once loaded")
        for (n, op), v in sorted(loads.items()):
            bad = [x for x in v if x[0] != 0]
            wall, user, sys_ = (median([x[i] for x in v]) for i in (1, 2, 3))
            mem = median([x[4] for x in v]) / 2**20
            note = f"  ({len(bad)} of {len(v)} failed)" if bad else ""
            print(f"  {n:>6} profiles {op:8} {wall:>9.1f} {user:>9.1f} {sys_:>9.1f}   {mem:6.1f} MiB{note}")

    if latency:
        print("\ntoken-backed BPF_MAP_CREATE + close (bpf_stats off): median of rounds, each the median of 7 batches of 300")
        base = median(latency.get("none", []))
        for label, v in latency.items():
            m = median(v)
            ratio = f"{m / base:.3f}x" if base else ""
            print(f"  {label:28}{m:>10.0f} {unit}  {ratio}  rounds {min(v):.0f}..{max(v):.0f}")


if __name__ == "__main__":
    main()
