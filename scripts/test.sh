#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
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
# Same counts as ctest's summary: a test that did not run because its fixture (a VM boot) failed
# is a failure; only tests that exited with SKIP_RETURN_CODE (77) are skipped.
import sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    status = case.get("status")
    skip = case.find("skipped")
    if status == "run":
        passed += 1
    elif status == "notrun" and skip is not None and "SKIP_RETURN_CODE" in (skip.get("message") or ""):
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $rc
