#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One example policy end to end through the CLI: check (no errors, no warnings), test its cases,
# compile to an artifact, run the same cases against the artifact, explain the artifact; and the
# SELinux backend's CIL, which must compile with libsepol (in-process, by `--emit cil` itself).
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
"$tw" compile --emit cil "$policy" -o "$out/policy.cil"
# A policy naming SELinux types gets interface calls for them; one that names none, no rules.
if grep -q 'selinux_type' "$policy"; then
  grep -q '^(call tokenwarden_token_' "$out/policy.cil" || { echo "FAIL: no SELinux rules for a policy with SELinux types"; exit 1; }
else
  ! grep -q '^(' "$out/policy.cil" || { echo "FAIL: SELinux rules for a policy without SELinux types"; exit 1; }
fi
echo "PASS $policy"
