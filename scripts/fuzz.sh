#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds and runs the policy fuzzer (tests/fuzz) with clang, ASan and UBSan.
#
#   scripts/fuzz.sh [--seconds N] [--merge] [--build-dir DIR]
#
# The committed corpus (tests/fuzz/corpus) seeds a scratch copy; --merge adds the inputs that
# found new coverage back to the committed corpus, minimised. A crash leaves its input as
# crash-* in the build directory and exits non-zero. `--smoke` is `--seconds 30` (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600 merge= build=${TW_FUZZ_BUILD_DIR:-build-fuzz}
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --smoke) seconds=30; shift ;;
    --merge) merge=1; shift ;;
    --build-dir) build=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N|--smoke] [--merge] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done
root=$(pwd)
bash scripts/install-deps.sh
CXX=clang++ cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"
work=$build/corpus
rm -rf "$work" && mkdir -p "$work"
cp tests/fuzz/corpus/* "$work"/ 2>/dev/null || true
cp examples/*.tw examples/*.cases "$work"/
for g in tests/golden/*.golden; do
  sed -n '/^--- file /,/^--- /p' "$g" | sed '1d;$d' >"$work/golden-$(basename "$g" .golden).tw"
done
cd "$build"
./tw-policy-fuzzer -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -dict="$root/tests/fuzz/policy.dict" -print_final_stats=1 corpus 2>&1 | tail -n 25
if [[ -n $merge ]]; then
  rm -rf merged && mkdir -p merged
  ./tw-policy-fuzzer -merge=1 merged "$root/tests/fuzz/corpus" corpus >/dev/null 2>&1
  rm -f "$root"/tests/fuzz/corpus/*
  cp merged/* "$root/tests/fuzz/corpus/"
  echo "fuzz: committed corpus now has $(ls "$root/tests/fuzz/corpus" | wc -l) inputs"
fi
