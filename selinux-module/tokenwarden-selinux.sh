#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tokenwarden's SELinux module, installed into or removed from this host's policy store at
# priority 200 (above the distribution's modules at 100, below local changes at 400). Run by the
# packages' maintainer scripts; an administrator can run it too.
#
#   tokenwarden-selinux install   install the variant this host's policy takes
#   tokenwarden-selinux remove    remove the module (and tokenwarden-token-perms, if installed)
#   tokenwarden-selinux variant   say which variant install would try, and why
#
# The variant is chosen here, at install time, from the policy itself, never at build time:
# - SELinux enabled and the running policy's bpf class has map_create_as (Linux 7.0+ policies):
#   token; enabled without it: legacy;
# - SELinux not running but a policy store installed (a chroot, an image being built): the
#   store's policy decides: token when semodule accepts it, else legacy.
# With no policy store (no SELinux on this host) there is nothing to do, and it says so.
set -eu
# PREFIX/sbin/tokenwarden-selinux -> PREFIX/share/selinux/packages/tokenwarden
dir=${TW_SELINUX_PACKAGE_DIR:-$(dirname "$0")/../share/selinux/packages/tokenwarden}
priority=200

say() { echo "tokenwarden-selinux: $*"; }

have_store() {
  command -v semodule >/dev/null 2>&1 && semodule -l >/dev/null 2>&1
}

variants() {
  if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then
    if [ -e /sys/fs/selinux/class/bpf/perms/map_create_as ]; then
      echo "token"
    else
      echo "legacy"
    fi
  else
    echo "token legacy"
  fi
}

installed() {
  semodule -l 2>/dev/null | grep -qx "$1"
}

case ${1:-} in
install)
  if ! have_store; then
    say "no SELinux policy store on this host: the module is not installed (run 'tokenwarden-selinux install' after installing a policy)"
    exit 0
  fi
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  for v in $(variants); do
    if semodule -X "$priority" -i "$dir/$v/tokenwarden.cil.bz2" 2>"$log"; then
      say "installed the $v variant of module tokenwarden at priority $priority"
      # The binary's file context comes with the module.
      if command -v restorecon >/dev/null 2>&1 && command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then
        restorecon -F /usr/bin/tokenwarden 2>/dev/null || true
      fi
      exit 0
    fi
    say "the policy refused the $v variant: $(tr '\n' ' ' <"$log")"
  done
  say "error: no variant of the module could be installed (tried: $(variants))"
  exit 1
  ;;
remove)
  have_store || exit 0
  for m in tokenwarden-token-perms tokenwarden; do
    if installed "$m"; then
      semodule -X "$priority" -r "$m"
      say "removed module $m"
    fi
  done
  ;;
variant)
  if ! have_store; then
    echo "none (no SELinux policy store)"
  else
    echo "$(variants)"
  fi
  ;;
*)
  echo "usage: tokenwarden-selinux install|remove|variant" >&2
  exit 64
  ;;
esac
