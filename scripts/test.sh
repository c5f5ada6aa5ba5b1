#!/usr/bin/env bash
# Runs every test: unit, host integration (root) and VM suites. Ends with ctest's summary and a
# line "N passed, N failed[, N skipped]". Extra arguments go to ctest (e.g. -R unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build=${TW_BUILD_DIR:-build}
junit=$(mktemp)
trap 'rm -f "$junit"' EXIT
set +e
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --output-junit "$junit" "$@"
rc=$?
set -e
python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
total = int(suite.get("tests", 0)); failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
skipped = int(suite.get("skipped", 0) or 0) + int(suite.get("disabled", 0) or 0)
print(f"{total - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
exit $rc
