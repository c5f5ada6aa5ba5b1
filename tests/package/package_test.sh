#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages as a packager checks them, built from this tree by scripts/package.sh:
#   host   built twice, in two build directories of different paths: the same .deb checksums
#          (reproducible, no build path inside); lintian clean (errors and warnings fail; pedantic
#          and info tags are shown); the contents (stripped binary, debug symbols in -dbgsym, man
#          pages, completion, units, both module variants, no static binary, no licence copies).
#   forky  built in a forky chroot with the unit tests on (what a packager does), into OUT; then
#          tokenwarden-selinux installed and purged with apt in a forky chroot that has Debian's
#          SELinux policy store: the module is in `semodule -l` at priority 200, then gone.
#   package_test.sh host|forky SOURCE_DIR [OUT]
set -euo pipefail
mode=$1 source=$2 out=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

# contents DIR: what the packages in DIR hold.
contents() {
  local dir=$1 deb x
  deb=$(ls "$dir"/tokenwarden_*_amd64.deb)
  x=$work/x.$RANDOM
  dpkg-deb -x "$deb" "$x"
  for f in usr/bin/tokenwarden etc/default/tokenwarden usr/share/man/man8/tokenwarden.8.gz \
      usr/share/man/man8/tokenwarden-load.8.gz usr/share/man/man5/tokenwarden.tw.5.gz \
      usr/share/bash-completion/completions/tokenwarden usr/share/zsh/vendor-completions/_tokenwarden \
      usr/share/fish/vendor_completions.d/tokenwarden.fish usr/share/doc/tokenwarden/copyright \
      usr/share/doc/tokenwarden/examples/ci-runner.tw usr/share/doc/tokenwarden/policy-language.md.gz; do
    [[ -e $x/$f ]] || fail "$(basename "$deb") lacks $f"
  done
  [[ -e $x/lib/systemd/system/tokenwarden.service || -e $x/usr/lib/systemd/system/tokenwarden.service ]] ||
    fail "$(basename "$deb") has no tokenwarden.service"
  [[ -z $(find "$x" -name 'tokenwarden-static*') ]] || fail "the static test binary is in a package"
  [[ -z $(find "$x" -name 'LICENSE*') ]] || fail "a licence copy is in the package (debian/copyright has them)"
  local sections
  sections=$(readelf -S "$x/usr/bin/tokenwarden")
  ! grep -q '\.debug_info' <<<"$sections" || fail "the binary is not stripped"
  # Its BPF programs are inside: the skeleton embeds the object.
  grep -qa tw_token_create "$x/usr/bin/tokenwarden" || fail "the binary has no BPF programs"
  local dbg
  dbg=$(ls "$dir"/tokenwarden-dbgsym_*_amd64.*deb 2>/dev/null | head -n1)
  local listing=
  [[ -n $dbg ]] && listing=$(dpkg-deb -c "$dbg")
  grep -q '/usr/lib/debug/.build-id/.*\.debug$' <<<"$listing" || fail "no debug symbols package with the binary's build-id"
  x=$work/s.$RANDOM
  dpkg-deb -x "$(ls "$dir"/tokenwarden-selinux_*_all.deb)" "$x"
  for f in usr/share/selinux/packages/tokenwarden/token/tokenwarden.cil.bz2 \
      usr/share/selinux/packages/tokenwarden/legacy/tokenwarden.cil.bz2 \
      usr/share/selinux/packages/tokenwarden/tokenwarden-token-perms.cil.bz2 \
      usr/share/selinux/devel/include/contrib/tokenwarden.if usr/sbin/tokenwarden-selinux \
      usr/share/man/man8/tokenwarden-selinux.8.gz; do
    [[ -e $x/$f ]] || fail "tokenwarden-selinux lacks $f"
  done
  grep -q 'tokenwarden-selinux install' <<<"$(dpkg-deb -I "$(ls "$dir"/tokenwarden-selinux_*_all.deb)" postinst)" ||
    fail "tokenwarden-selinux's postinst does not install the module"
  echo "contents of $(cd "$dir" && ls *.deb | tr '\n' ' '): checked"
}

if [[ $mode == host ]]; then
  # Two builds, two different build paths.
  mkdir -p "$work/one" "$work/second-build/deeper"
  bash "$source/scripts/package.sh" --nocheck --build-dir "$work/one" --out "$work/a" | tail -n1
  bash "$source/scripts/package.sh" --nocheck --build-dir "$work/second-build/deeper" --out "$work/b" | tail -n1
  for deb in "$work"/a/*.deb; do
    other=$work/b/$(basename "$deb")
    if [[ ! -e $other ]]; then fail "the second build has no $(basename "$deb")"; continue; fi
    a=$(sha256sum <"$deb" | cut -c1-64) b=$(sha256sum <"$other" | cut -c1-64)
    if [[ $a == "$b" ]]; then
      echo "reproducible: $(basename "$deb") sha256 $a"
    else
      fail "$(basename "$deb") differs between the two builds ($a, $b)"
      mkdir -p "$work/da" "$work/db"
      dpkg-deb -x "$deb" "$work/da"; dpkg-deb -x "$other" "$work/db"
      diff -rq "$work/da" "$work/db" | head -n10
      rm -rf "$work/da" "$work/db"
    fi
  done
  # No path of either build tree in anything packaged.
  for deb in "$work"/a/*.deb; do
    mkdir -p "$work/scan"
    dpkg-deb -x "$deb" "$work/scan"
    grep -rlaF -e "$work/one" -e "$work/second-build" "$work/scan" && fail "$(basename "$deb") names its build directory"
    rm -rf "$work/scan"
  done
  lint_rc=0
  lint=$(lintian --pedantic --fail-on error,warning "$work"/a/*.changes 2>&1) || lint_rc=$?
  lint=$(grep -v 'running with root privileges' <<<"$lint" || true)
  [[ $lint_rc == 0 ]] || fail "lintian (exit $lint_rc): $lint"
  echo "lintian --pedantic: $(grep -c '^[EW]:' <<<"$lint" || true) errors and warnings; other tags: $(grep -c '^[PIX]:' <<<"$lint" || true)"
  grep '^[PI]:' <<<"$lint" | head -n10 || true
  contents "$work/a"
  ls -l "$work"/a/*.deb | awk '{print "  " $5 " bytes  " $9}' | sed "s|$work/a/||"
  exit $status
fi

# forky
[[ -n $out ]] || { echo "usage: package_test.sh forky SOURCE_DIR OUT"; exit 64; }
bash "$source/scripts/package.sh" --suite forky --out "$out" | tail -n1 || { echo "FAIL: the forky build failed"; exit 1; }
grep -q 'libssl3t64' <(dpkg-deb -f "$out"/tokenwarden_*_amd64.deb Depends) ||
  fail "the forky package does not depend on forky's library names: $(dpkg-deb -f "$out"/tokenwarden_*_amd64.deb Depends)"
echo "forky: Depends: $(dpkg-deb -f "$out"/tokenwarden_*_amd64.deb Depends)"
contents "$out"
# The module package's maintainer scripts with Debian's own semodule and policy store.
root=$(bash "$source/scripts/package.sh" --suite forky --selinux-chroot "$work/root" | tail -n1)
cp "$out"/tokenwarden-selinux_*_all.deb "$root/tmp/"
inroot() { bash "$source/scripts/lib/in-chroot.sh" "$root" "$1"; }
install_log=$(inroot 'cd /tmp && apt-get install -y ./tokenwarden-selinux_*_all.deb 2>&1') || fail "apt-get install: $install_log"
echo "$install_log" | grep 'tokenwarden-selinux:' || true
listed=$(inroot 'semodule --list-modules=full' | grep -w tokenwarden || true)
if [[ $listed =~ ^200\ tokenwarden\  ]]; then
  echo "ok: installed with Debian's semodule: $listed ($(echo "$install_log" | grep -o 'the [a-z]* variant' | tail -n1))"
else
  fail "tokenwarden is not in semodule -l at priority 200 after install: '$listed'"
fi
purge_log=$(inroot 'apt-get purge -y tokenwarden-selinux 2>&1') || fail "apt-get purge: $purge_log"
if inroot 'semodule -l' | grep -qx tokenwarden; then
  fail "the module is still installed after purge"
else
  echo "ok: purged, and the module is gone from the store"
fi
left=$(inroot 'find / -xdev -path /proc -prune -o -path /tmp -prune -o -name "*tokenwarden*" -print')
[[ -z $left ]] || fail "left after purge: $left"
exit $status
