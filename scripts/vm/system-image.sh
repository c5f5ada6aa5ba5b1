#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds, once per recipe, a real Debian system for the VM: Debian testing (forky, the first suite
# with systemd >= 258 and so PrivateBPF=), with systemd as PID 1, udev, libbpf and bpftool, as a
# root filesystem tarball. Built with mmdebstrap through this machine's own mirror (never a host
# name written here); cached beside the VM kernels and rebuilt when this file changes (its hash
# names the directory) or with TW_VM_REFRESH=1. Prints the directory: root.tar, versions.txt.
# A failed build leaves nothing behind and says which package or suite failed.
set -euo pipefail
source "$(dirname "$0")/../lib/apt.sh"
log() { printf 'system-image: %s\n' "$*" >&2; }

SUITE=forky
PACKAGES=(systemd systemd-sysv udev mount util-linux procps bpftool libbpf1 libsepol2 man-db bash-completion)

cache=${TOKENWARDEN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenwarden/vm}/system
recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
out=$cache/$SUITE-$recipe
mkdir -p "$cache"
exec 9>"$cache/.build.lock"
flock 9
if [[ -s $out/root.tar && -s $out/versions.txt && -z ${TW_VM_REFRESH:-} ]]; then
  echo "$out"
  exit 0
fi
command -v mmdebstrap >/dev/null || { log "mmdebstrap is missing (scripts/install-deps.sh installs it)"; exit 1; }
uri=$(mirror_uri) || { log "cannot find the Debian mirror in /etc/apt/sources.list*"; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "building $SUITE with ${PACKAGES[*]} (mmdebstrap, $uri)"
# The mirror may serve a frozen snapshot whose Release files have expired: accept them (the
# archive key still signs them).
if ! mmdebstrap --quiet --variant=apt --keyring="$keyring" \
    --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Languages "none"' \
    --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    "$SUITE" "$tmp/root.tar" "deb [signed-by=$keyring] $uri $SUITE main" 2>"$tmp/log"; then
  log "mmdebstrap failed for suite $SUITE; nothing was cached. What apt said:"
  grep -E '^(E|W):|Unable to locate|has no installation candidate|unmet|Depends' "$tmp/log" | head -20 >&2 || tail -20 "$tmp/log" >&2
  exit 1
fi
# What was installed, for the test log and docs/testing.md.
tar -xOf "$tmp/root.tar" ./var/lib/dpkg/status |
  awk '/^Package: /{p=$2} /^Version: /{print p, $2}' | sort >"$tmp/all-versions.txt"
for p in systemd libbpf1 bpftool linux-libc-dev; do grep "^$p " "$tmp/all-versions.txt" || true; done >"$tmp/versions.txt"
[[ -s $tmp/versions.txt ]] || { log "the image has no systemd package"; exit 1; }
mkdir -p "$out.new"
mv "$tmp/root.tar" "$tmp/versions.txt" "$tmp/all-versions.txt" "$out.new/"
rm -rf "$out"
mv "$out.new" "$out"
# Images of earlier recipes are not used again.
find "$cache" -mindepth 1 -maxdepth 1 -type d -name "$SUITE-*" ! -name "$(basename "$out")" -exec rm -rf {} +
log "built $(du -h "$out/root.tar" | cut -f1) ($(tr '\n' ' ' <"$out/versions.txt"))"
echo "$out"
