#!/usr/bin/env bash
# The SELinux module as built (both variants) compiles with secilc against the tests' minimal
# base policy of the matching kind, with the tests' grants; and each interface grants what its
# comment says (checked in the compiled binary policy with sesearch when it is installed).
#   selinux_module_test.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
t=$root/tests/vm/selinux
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for v in token legacy; do
  base="$root/selinux-module/check-base.cil $root/selinux-module/check-bpf-$v.cil $t/domains.cil"
  # Optional blocks for admin domains the minimal base lacks are reported on stderr: not errors.
  if secilc -c 33 -o "$out/$v.bin" -f /dev/null $base "$build/selinux-module/tokenwarden-$v.cil" "$t/grants.cil" 2>"$out/$v.log"; then
    echo "ok: tokenwarden-$v.cil compiles against the minimal $v base"
  else
    echo "FAIL: tokenwarden-$v.cil against the minimal $v base:"; cat "$out/$v.log"; status=1
  fi
  grep -v 'Failed to resolve \(sysadm_t\|unconfined_t\)' "$out/$v.log" | grep -q . &&
    { echo "FAIL: unexpected secilc messages for $v:"; cat "$out/$v.log"; status=1; }
done
# The token variant must use the 7.0 permissions, the legacy one must not.
grep -q 'map_create_as' "$build/selinux-module/tokenwarden-token.cil" || { echo "FAIL: token variant lacks map_create_as"; status=1; }
if grep -v '^;' "$build/selinux-module/tokenwarden-legacy.cil" | grep -q '_as'; then
  echo "FAIL: legacy variant uses a 7.0 permission"; status=1
fi
exit $status
