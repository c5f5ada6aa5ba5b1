#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Per-invocation cost of tokenwarden's BPF LSM programs against trivial programs on the same
# hooks, at 1, 100 and 10,000 profiles, in the test VM (kernel.bpf_stats_enabled=1: the kernel's
# run_time_ns / run_cnt per program). Under qemu's software emulation only ratios mean anything.
#   bash bench/hooks_bench.sh [6.12|7.x]
set -euo pipefail
cd "$(dirname "$0")/.."
kernel=${1:-7.x}
bash scripts/build.sh >/dev/null
build=${TW_BUILD_DIR:-build}
out=$build/vm-bench
python3 tests/vm/vmrun.py boot --kernel "$kernel" --out "$out" --cases bench_hooks --timeout 1800 \
  --guest "$build/tests/vm/tw-vmtest" --tokenwarden "$build/tools/tokenwarden-static" >/dev/null
tr -d '\000' <"$out/$kernel/console.log" | grep -a '^TWVM-BENCH \|^TWVM-LATENCY ' | python3 -c '
import re, sys
rows, latency = {}, {}
for line in sys.stdin:
    kind, line = line.strip().split(" ", 1)
    if kind == "TWVM-LATENCY":
        label, ns = line.rsplit(" ", 1)
        latency.setdefault(label, []).append(float(ns))
        continue
    label, rest = re.match(r"(trivial|floor|tokenwarden profiles=\d+) (.*)", line).groups()
    for h, ns, n in re.findall(r"(\w+)=(\d+)ns/(\d+)", rest):
        rows.setdefault(label, {}).setdefault(h, []).append((float(ns), int(n)))
# Each configuration ran in several rounds: per hook, the median round (and the total calls).
rows = {label: {h: (sorted(x[0] for x in v)[len(v) // 2], sum(x[1] for x in v)) for h, v in r.items()}
        for label, r in rows.items()}
hooks = ["token_create", "token_cmd", "token_capable", "map_create", "prog_load", "token_free"]
print("ns per invocation, median of 3 rounds (calls in all), and the ratio to the trivial program")
print("(and to the floor: one hash lookup of the token) on the same hook")
print(" " * 28 + "".join(f"{h:>32}" for h in hooks))
for label, r in rows.items():
    cells = []
    for h in hooks:
        ns, n = r.get(h, (0, 0))
        base = rows["trivial"].get(h, (0, 0))[0]
        floor = rows.get("floor", {}).get(h, (0, 0))[0]
        ratio = f" {ns / base:.2f}x" if base and label != "trivial" else ""
        if floor and label.startswith("tokenwarden"):
            ratio += f" ({ns / floor:.2f}x floor)"
        cells.append(f"{ns:.0f} ({n}){ratio}")
    print(f"{label:28}" + "".join(f"{c:>32}" for c in cells))
print()
guard = ["guard_bpf", "guard_map", "guard_prog", "guard_create", "guard_attr"]
print("the guard (tokenwarden only): ns per invocation, median of 3 rounds (calls in all); the workload")
print("runs in a user namespace, so each call does the namespace check and, for maps and programs, a lookup")
print(" " * 28 + "".join(f"{h:>22}" for h in guard))
for label, r in rows.items():
    if label.startswith("tokenwarden"):
        print(f"{label:28}" + "".join(f"{r.get(h, (0, 0))[0]:>14.0f} ({r.get(h, (0, 0))[1]})" for h in guard))
print()
print("token-backed BPF_MAP_CREATE + close (bpf_stats off): per configuration the median of its rounds,")
print("each round the median of 7 batches of 300; the configurations take turns, 5 rounds")
med = {label: sorted(v)[len(v) // 2] for label, v in latency.items()}
base = med.get("none", 0)
for label, ns in med.items():
    spread = f"rounds {min(latency[label]):.0f}..{max(latency[label]):.0f}"
    print(f"{label:28}{ns:>10.0f} ns  {ns / base:.3f}x  {spread}" if base else f"{label:28}{ns:>10.0f} ns")
'
