#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
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
# The refpolicy interface file, both variants as CMake configures them, expanded with m4 (stub
# definitions of refpolicy's support macros): each interface yields the rules of its CIL twin.
m4_stubs='define(`interface'"'"', `define(`$1'"'"', `$2'"'"')'"'"')define(`gen_require'"'"', `'"'"')'
m4_stubs+='define(`domtrans_pattern'"'"', `allow $1 $2:file entrypoint_etc; allow $1 $3:process transition;'"'"')'
calls='tokenwarden_token_map_create(u_t, g_t)
tokenwarden_token_prog_load(u_t, g_t)
tokenwarden_token_cap_net_admin(u_t, g_t)
tokenwarden_domtrans(init_t)'
for v in token legacy; do
  if [[ $v == token ]]; then tok='' leg='dnl '; else tok='dnl ' leg=''; fi
  rules=$( { echo "$m4_stubs"; sed "s/@TW_IF_TOKEN_RULES@/$tok/; s/@TW_IF_LEGACY_RULES@/$leg/" \
    "$root/selinux-module/tokenwarden.if.in"; echo "$calls"; } | m4 | grep -o 'allow [^;]*;' | sort -u)
  if [[ $v == token ]]; then
    want=('allow u_t g_t:bpf map_create_as;' 'allow g_t u_t:bpf map_create;' 'allow u_t g_t:bpf prog_load_as;'
          'allow g_t u_t:bpf prog_load;' 'allow u_t g_t:cap_userns net_admin;' 'allow u_t self:cap2_userns bpf;'
          'allow init_t tokenwarden_t:process transition;')
    unwanted='self:bpf map_create;'
  else
    want=('allow u_t self:bpf map_create;' 'allow u_t self:bpf prog_load;' 'allow u_t self:cap_userns net_admin;'
          'allow u_t self:cap2_userns bpf;' 'allow init_t tokenwarden_t:process transition;')
    unwanted='_as;'
  fi
  for w in "${want[@]}"; do
    grep -qxF "$w" <<<"$rules" || { echo "FAIL: tokenwarden.if ($v) lacks: $w"; echo "$rules"; status=1; }
  done
  grep -qF "$unwanted" <<<"$rules" && { echo "FAIL: tokenwarden.if ($v) has $unwanted"; status=1; }
  echo "ok: tokenwarden.if ($v) expands to its interfaces' rules"
done
exit $status
