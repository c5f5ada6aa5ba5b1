#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tokenwarden's SELinux module against a distribution's base policy: Debian bookworm's
# selinux-policy-default (refpolicy 2.20221101, 331 modules), fetched by scripts/vm/fetch.sh.
# Its modules are converted to CIL with policycoreutils' pp converter and compiled together with
# the module, as `semodule -i` does (libsemanage: pp to CIL, then one CIL compilation):
#   - the legacy variant compiles, with a grant through each interface;
#   - the token variant does not (the bpf class there has no map_create_as), which is what the
#     configure-time choice (TW_SELINUX_VARIANT=auto) is for.
#   selinux_distro_test.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$(bash "$root/scripts/vm/fetch.sh" | tail -n1)
distro=$cache/selinux-distro/root
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/cil"
for f in "$distro"/usr/share/selinux/default/*.pp.bz2; do
  bzip2 -dc "$f" | "$distro/usr/libexec/selinux/hll/pp" >"$work/cil/$(basename "$f" .pp.bz2).cil"
done
modules=$(ls "$work"/cil/*.cil | grep -v '/base.cil$')
# A service under systemd's PrivateBPF= (PID 1 sets up the bpffs), and an admin shell.
cat >"$work/grants.cil" <<'CIL'
(call tokenwarden_token_map_create (unconfined_t init_t))
(call tokenwarden_token_prog_load (unconfined_t init_t))
(call tokenwarden_token_cap_bpf (unconfined_t init_t))
(call tokenwarden_token_cap_net_admin (unconfined_t init_t))
(call tokenwarden_domtrans (sysadm_t))
CIL
status=0
if secilc -m -c 33 -o "$work/legacy.bin" -f /dev/null "$work/cil/base.cil" $modules \
    "$build/selinux-module/tokenwarden-legacy.cil" "$work/grants.cil" >"$work/legacy.log" 2>&1; then
  echo "ok: the legacy variant compiles into Debian's base policy ($(echo $modules | wc -w) modules + base)"
else
  echo "FAIL: the legacy variant against Debian's base policy:"; cat "$work/legacy.log"; status=1
fi
if secilc -m -c 33 -o "$work/token.bin" -f /dev/null "$work/cil/base.cil" $modules \
    "$build/selinux-module/tokenwarden-token.cil" "$work/grants.cil" >"$work/token.log" 2>&1; then
  echo "FAIL: the token variant compiled against a base without map_create_as"; status=1
elif grep -q 'map_create_as' "$work/token.log"; then
  echo "ok: the token variant is refused there, for map_create_as"
else
  echo "FAIL: the token variant failed for another reason:"; cat "$work/token.log"; status=1
fi
exit $status
