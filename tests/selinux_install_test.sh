#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tokenwarden-selinux, the script the packages' maintainer scripts run, against a fake semodule
# and selinuxenabled on PATH (the real ones run in the package tests, in a forky chroot with
# Debian's policy store): the variant comes from the policy at install time; a policy that
# refuses the token variant gets the legacy one; no store means nothing to do; remove removes the
# module and the optional token-perms module, and only those.
#   selinux_install_test.sh BUILD_DIR
set -euo pipefail
build=$1
script=$(cd "$(dirname "$0")/.." && pwd)/selinux-module/tokenwarden-selinux.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/pkg"
cp -r "$build/selinux-module/token" "$build/selinux-module/legacy" "$work/pkg/"
# The fake semodule: a store is the file $work/store (one module per line). It refuses a module
# whose CIL uses map_create_as when $work/old-policy exists, as a pre-7.0 base policy does.
cat >"$work/bin/semodule" <<'SH'
#!/usr/bin/env bash
store=$TW_FAKE/store
echo "semodule $*" >>"$TW_FAKE/calls"
[[ -e $store ]] || { echo "semodule: no store" >&2; exit 1; }
case "$1 $2 $3" in
  "-l  ") cat "$store" ;;
  "-X 200 -i")
    if [[ -e $TW_FAKE/old-policy ]] && bzip2 -dc "$4" | grep -v "^ *;" | grep -q map_create_as; then
      echo "Failed to resolve classpermission map_create_as" >&2; exit 1
    fi
    echo tokenwarden >>"$store"; echo "$4" >"$TW_FAKE/installed" ;;
  "-X 200 -r") grep -vx "$4" "$store" >"$store.new" || true; mv "$store.new" "$store" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
SH
printf '#!/bin/sh\n[ -e "$TW_FAKE/enabled" ]\n' >"$work/bin/selinuxenabled"
chmod +x "$work/bin/semodule" "$work/bin/selinuxenabled"
export TW_FAKE=$work TW_SELINUX_PACKAGE_DIR=$work/pkg PATH=$work/bin:$PATH
status=0
fail() { echo "FAIL: $*"; status=1; }
reset() { rm -f "$work/store" "$work/old-policy" "$work/enabled" "$work/installed" "$work/calls"; }

# No store: nothing installed, exit 0, says so.
reset
out=$(sh "$script" install) || fail "install without a store failed"
grep -q "no SELinux policy store" <<<"$out" || fail "install without a store: $out"
[[ ! -e $work/installed ]] || fail "installed a module without a store"

# A store whose policy has the 7.0 permissions, SELinux not running: token.
reset; : >"$work/store"
sh "$script" install >/dev/null || fail "install (token) failed"
grep -q "/token/tokenwarden.cil.bz2$" "$work/installed" 2>/dev/null || fail "a 7.0 policy did not get the token variant"

# An older policy: the token variant is refused, the legacy one installed.
reset; : >"$work/store"; : >"$work/old-policy"
out=$(sh "$script" install) || fail "install (legacy) failed: $out"
grep -q "/legacy/tokenwarden.cil.bz2$" "$work/installed" 2>/dev/null || fail "an older policy did not get the legacy variant"
grep -q "refused the token variant" <<<"$out" || fail "the refusal was not reported: $out"

# SELinux running without map_create_as in the running policy: legacy straight away.
reset; : >"$work/store"; : >"$work/enabled"
[[ $(sh "$script" variant) == legacy ]] || fail "variant with a running pre-7.0 policy: $(sh "$script" variant)"
sh "$script" install >/dev/null
[[ $(grep -c -- ' -i ' "$work/calls") == 1 ]] || fail "a running pre-7.0 policy tried the token variant first"

# remove: both modules, nothing else; a second remove is a no-op.
reset; printf 'other\ntokenwarden\ntokenwarden-token-perms\n' >"$work/store"
sh "$script" remove >/dev/null || fail "remove failed"
[[ $(cat "$work/store") == other ]] || fail "remove left: $(tr '\n' ' ' <"$work/store")"
sh "$script" remove >/dev/null || fail "a second remove failed"

# Neither variant accepted: install fails, so the package's postinst does.
reset; : >"$work/store"; : >"$work/enabled"; : >"$work/old-policy"
sed -i 's|echo tokenwarden >>"$store"|[[ $4 == */legacy/* ]] \&\& { echo refused >\&2; exit 1; }; echo tokenwarden >>"$store"|' "$work/bin/semodule"
if sh "$script" install >/dev/null 2>&1; then fail "install succeeded although no variant was accepted"; fi

sh "$script" bogus >/dev/null 2>&1 && fail "an unknown command succeeded"
[[ $status == 0 ]] && echo "ok: tokenwarden-selinux picks the variant from the policy, and removes what it installed"
exit $status
