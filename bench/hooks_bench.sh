#!/usr/bin/env bash
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
python3 tests/vm/vmrun.py boot --kernel "$kernel" --out "$out" --cases bench_hooks --timeout 900 \
  --guest "$build/tests/vm/tw-vmtest" --tokenwarden "$build/tools/tokenwarden-static" >/dev/null
tr -d '\000' <"$out/$kernel/console.log" | grep -a '^TWVM-BENCH \|^TWVM-LATENCY ' | python3 -c '
import re, sys
rows, latency = {}, {}
for line in sys.stdin:
    kind, line = line.strip().split(" ", 1)
    if kind == "TWVM-LATENCY":
        label, ns = line.rsplit(" ", 1)
        latency[label] = float(ns)
        continue
    label, rest = re.match(r"(trivial|tokenwarden profiles=\d+) (.*)", line).groups()
    rows[label] = {h: (float(ns), int(n)) for h, ns, n in re.findall(r"(\w+)=(\d+)ns/(\d+)", rest)}
hooks = ["token_create", "token_cmd", "token_capable", "map_create", "prog_load", "token_free"]
print("ns per invocation (calls), and the ratio to the trivial program on the same hook")
print(" " * 26 + "".join(f"{h:>20}" for h in hooks))
for label, r in rows.items():
    cells = []
    for h in hooks:
        ns, n = r.get(h, (0, 0))
        base = rows["trivial"].get(h, (0, 0))[0]
        ratio = f" {ns / base:.2f}x" if base and label != "trivial" else ""
        cells.append(f"{ns:.0f} ({n}){ratio}")
    print(f"{label:26}" + "".join(f"{c:>20}" for c in cells))
print()
print("token-backed BPF_MAP_CREATE + close, median of 7 batches of 300 (bpf_stats off)")
base = latency.get("none", 0)
for label, ns in latency.items():
    print(f"{label:26}{ns:>10.0f} ns  {ns / base:.3f}x" if base else f"{label:26}{ns:>10.0f} ns")
'
