#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches what the VM tests boot and compile with, from Debian's own packages, into a cache
# outside the source tree (reused across runs; anything missing is fetched again):
#   kernels/6.12/vmlinuz   linux-image-*-cloud-amd64-unsigned from bookworm-backports
#   kernels/7.x/vmlinuz    newest linux-image-cloud-amd64 from trixie-backports (via linux-binary-*)
#   secilc-sid/            secilc + libsepol2 + libc6 from sid (libsepol >= 3.10 knows the
#                          bpf_token_perms policy capability; bookworm has 3.4), run through
#                          its own dynamic loader: nothing is installed system-wide.
#   selinux-distro/        Debian's selinux-policy-default (refpolicy) and policycoreutils'
#                          pp-to-CIL converter from bookworm, unpacked: a distribution's base
#                          policy for tests/selinux_distro_test.sh.
# A private apt configuration (sources, lists, cache) is used; the system's apt setup is untouched.
# Prints the cache directory. Cache: $TOKENWARDEN_VM_CACHE or ~/.cache/tokenwarden/vm.
set -euo pipefail
source "$(dirname "$0")/../lib/apt.sh"
log() { printf 'vm-fetch: %s\n' "$*" >&2; }

cache=${TOKENWARDEN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenwarden/vm}
apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$cache/kernels" "$cache/debs"

# Both VM boot fixtures start this script at once (ctest -j): one fetches, the other waits for
# it and then finds everything present. Two apt-get runs on one private lists directory race.
exec 9>"$cache/.fetch.lock"
flock 9

all_present() {
  [[ -s $cache/kernels/6.12/vmlinuz && -s $cache/kernels/7.x/vmlinuz && -x $cache/secilc-sid/secilc &&
     -x $cache/selinux-distro/root/usr/libexec/selinux/hll/pp ]]
}
if all_present && [[ -z ${TW_VM_REFRESH:-} ]]; then
  echo "$cache"
  exit 0
fi

uri=$(mirror_uri) || { log "cannot find the Debian mirror in /etc/apt/sources.list*"; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt_dir/sources.list" <<SRC
deb [signed-by=$keyring] $uri bookworm main
deb [signed-by=$keyring] $uri bookworm-backports main
deb [signed-by=$keyring] $uri trixie-backports main
deb [signed-by=$keyring] $uri sid main
SRC
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o Dir::State::status=/dev/null -o Acquire::Languages=none -o Debug::NoLocking=1
  -o APT::Sandbox::User=root)
log "apt-get update (private lists in $apt_dir)"
apt-get "${apt_opts[@]}" update -qq >/dev/null

# version_in SUITE PKG: the candidate version of PKG in SUITE.
version_in() {
  apt-cache "${apt_opts[@]}" madison "$2" | awk -v s="$1/" '$0 ~ s { gsub(/ /, "", $3); print $3; exit }'
}
# dep_matching PKG=VER REGEX: the first dependency of PKG=VER whose name matches REGEX.
dep_matching() {
  apt-cache "${apt_opts[@]}" show "$1" | awk '/^Depends:/ { sub(/^Depends: /, ""); print; exit }' |
    tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -E "$2" | head -n1
}
download() { # PKG[=VER] -> path of the .deb
  (cd "$cache/debs" && apt-get "${apt_opts[@]}" download -qq "$1" >/dev/null)
  ls -t "$cache/debs/${1%%[=/]*}"_*.deb | head -n1
}
# extract_vmlinuz DEB DEST: copies the kernel image out of a package.
extract_vmlinuz() {
  local tmp; tmp=$(mktemp -d)
  dpkg-deb -x "$1" "$tmp"
  local img
  img=$(find "$tmp" \( -path '*/boot/vmlinuz-*' -o -path '*/usr/lib/modules/*/vmlinuz' \) | head -n1)
  [[ -n $img ]] || { rm -rf "$tmp"; return 1; }
  mkdir -p "$(dirname "$2")"
  cp "$img" "$2.tmp" && mv "$2.tmp" "$2"
  basename "$(dirname "$img")" >"$(dirname "$2")/package-path"
  dpkg-deb -f "$1" Package Version >"$(dirname "$2")/package"
  rm -rf "$tmp"
}

fetch_kernel() { # SUITE LABEL
  local suite=$1 label=$2 dest=$cache/kernels/$2/vmlinuz
  [[ -s $dest && -z ${TW_VM_REFRESH:-} ]] && return 0
  local ver image deb
  ver=$(version_in "$suite" linux-image-cloud-amd64)
  [[ -n $ver ]] || { log "no linux-image-cloud-amd64 in $suite"; return 1; }
  image=$(dep_matching "linux-image-cloud-amd64=$ver" '^linux-image-')
  log "$label: $image $ver from $suite"
  # bookworm: the -unsigned package holds /boot/vmlinuz; trixie: linux-binary-* holds it.
  if apt-cache "${apt_opts[@]}" show "$image-unsigned=$ver" >/dev/null 2>&1; then
    deb=$(download "$image-unsigned=$ver")
  else
    deb=$(download "$image=$ver")
  fi
  if ! extract_vmlinuz "$deb" "$dest"; then
    local binary
    binary=$(dep_matching "$image=$ver" '^linux-binary-')
    [[ -n $binary ]] || { log "$image has no kernel image and no linux-binary dependency"; return 1; }
    deb=$(download "$binary=$ver")
    extract_vmlinuz "$deb" "$dest" || { log "no vmlinuz in $binary"; return 1; }
  fi
}

fetch_secilc() {
  local dest=$cache/secilc-sid
  [[ -x $dest/secilc && -z ${TW_VM_REFRESH:-} ]] && return 0
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/root"
  local p
  for p in secilc libsepol2 libc6; do
    dpkg-deb -x "$(download "$p/sid")" "$dest.tmp/root"
  done
  local lib=$dest/root/usr/lib/x86_64-linux-gnu
  cat >"$dest.tmp/secilc" <<WRAP
#!/bin/sh
# sid's secilc with its own libsepol and libc, through sid's dynamic loader.
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$dest/root/usr/bin/secilc" "\$@"
WRAP
  chmod +x "$dest.tmp/secilc"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  log "secilc from sid: $("$dest/secilc" --version 2>&1 | head -n1 || true)"
}

fetch_distro_policy() {
  local dest=$cache/selinux-distro
  [[ -x $dest/root/usr/libexec/selinux/hll/pp && -z ${TW_VM_REFRESH:-} ]] && return 0
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/root"
  local p
  for p in selinux-policy-default policycoreutils; do
    dpkg-deb -x "$(download "$p/bookworm")" "$dest.tmp/root"
  done
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  log "Debian's base policy: $(ls "$dest/root/usr/share/selinux/default" | wc -l) modules"
}

fetch_kernel bookworm-backports 6.12
fetch_kernel trixie-backports 7.x
fetch_secilc
fetch_distro_policy
all_present || { log "incomplete cache in $cache"; exit 1; }
echo "$cache"
