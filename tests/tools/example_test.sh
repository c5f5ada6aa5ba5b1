#!/usr/bin/env bash
# One example policy end to end through the CLI: check (no errors, no warnings), test its cases,
# compile to an artifact, run the same cases against the artifact, explain the artifact.
set -euo pipefail
tw=$1 policy=$2
cases=${policy%.tw}.cases
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

check=$("$tw" check "$policy" 2>&1)
echo "$check"
[[ $check == "$policy: ok ("* ]] || { echo "FAIL: check reported diagnostics"; exit 1; }
"$tw" test "$policy" "$cases"
"$tw" compile "$policy" -o "$out/policy.twp"
"$tw" test "$out/policy.twp" "$cases"
"$tw" explain "$out/policy.twp" >"$out/explain.txt"
grep -q "^bpf_token_create:" "$out/explain.txt" || { echo "FAIL: explain printed no bpf_token_create section"; exit 1; }
echo "PASS $policy"
