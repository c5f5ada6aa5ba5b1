#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Per-invocation cost of tokenwarden's BPF LSM programs against trivial programs and two floors on
# the same hooks, at 1, 100 and 10,000 profiles, in the test VM (BPF_ENABLE_STATS while measuring:
# the kernel's run_time_ns / run_cnt per program), then load and replace times and map-create
# latency; bench/hooks_report.py makes the tables.
#   bash bench/hooks_bench.sh [6.12|7.x]
# The guest runs with `-icount shift=0`: its clocks advance one nanosecond per instruction executed,
# so a "ns" below is one instruction, the same on every run whatever else the host does (no cache
# model: work, not memory latency). TW_BENCH_ICOUNT=off measures emulated time instead, which
# spreads by 2x between rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
kernel=${1:-7.x}
bash scripts/build.sh >/dev/null
build=${TW_BUILD_DIR:-build}
out=$build/vm-bench
icount=(--icount 0)
[[ ${TW_BENCH_ICOUNT:-on} == off ]] && icount=()
python3 tests/vm/vmrun.py boot --kernel "$kernel" --out "$out" --cases bench_hooks --timeout 1800 "${icount[@]}" \
  --guest "$build/tests/vm/tw-vmtest" --tokenwarden "$build/tools/tokenwarden-static" >/dev/null
python3 bench/hooks_report.py "$out/$kernel/console.log"
