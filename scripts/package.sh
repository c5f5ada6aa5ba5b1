#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian packages (tokenwarden, tokenwarden-selinux, tokenwarden-dbgsym) from this
# tree with dpkg-buildpackage, for the suite they will be installed on:
#
#   bash scripts/package.sh [--suite host|forky] [--out DIR] [--nocheck] [--build-dir DIR]
#   bash scripts/package.sh --suite forky --selinux-chroot DIR   (for the package tests: a forky
#          root in DIR with Debian's SELinux policy store, cached like the build chroot)
#
#   host   (default) this machine's suite (Debian 12 bookworm), built here; build dependencies
#          are installed first (scripts/install-deps.sh)
#   forky  Debian testing, built inside a chroot of that suite (mmdebstrap, as sbuild does), so
#          that the packages depend on forky's library names (libssl3t64, libfmt10, ...); the
#          chroot, with the build dependencies from debian/control, is made once and cached
#          beside the VM images
#
# The source is the tree's files as git lists them (tracked and untracked, not ignored), copied to
# BUILD-DIR/tokenwarden-VERSION: a clean tree, whatever was built in this one. --nocheck skips
# the unit tests (DEB_BUILD_OPTIONS=nocheck). The last line printed is the directory with the
# .deb files, the .buildinfo and the .changes (default: dist/SUITE).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/lib/apt.sh
log() { printf 'package: %s\n' "$*" >&2; }

suite=host out= nocheck= build_dir= selinux_chroot=
while [[ $# -gt 0 ]]; do
  case $1 in
    --suite) suite=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --nocheck) nocheck=1; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --selinux-chroot) selinux_chroot=$2; shift 2 ;;
    *) log "unknown argument $1 (see the comment at the top of $0)"; exit 64 ;;
  esac
done
[[ $suite == host || $suite == forky ]] || { log "--suite is host or forky, not $suite"; exit 64; }
out=${out:-$root/dist/$suite}
version=$(dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null ||
          sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
jobs=$(nproc)
options="parallel=$jobs${nocheck:+ nocheck}"

# stage DIR: a clean copy of the tree in DIR/tokenwarden-VERSION.
stage() {
  local dir=$1/tokenwarden-$version
  mkdir -p "$dir"
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    (cd "$root" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    tar -C "$root" --null -T - -cf - | tar -x -C "$dir"
  echo "$dir"
}

# build_deps [nocheck]: the first alternative of every Build-Depends entry, without versions,
# profile restrictions applied.
build_deps() {
  python3 - "$root/debian/control" "${nocheck:-}" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^Build-Depends:(.*?)(?=^\S)", text, re.M | re.S)
for entry in m.group(1).replace("\n", " ").split(","):
    entry = entry.strip()
    if not entry:
        continue
    first = entry.split("|")[0].strip()
    if "<!nocheck>" in first and sys.argv[2]:
        continue
    name = re.sub(r"\s*(\(.*?\)|<.*?>|\[.*?\])", "", first).strip()
    print("debhelper" if name == "debhelper-compat" else name)
PY
}

collect() { # SRC_PARENT
  rm -rf "$out"
  mkdir -p "$out"
  cp "$1"/*.deb "$1"/*.buildinfo "$1"/*.changes "$out"/
  log "built: $(cd "$out" && ls *.deb | tr '\n' ' ')"
  echo "$out"
}

work=$(mktemp -d "${build_dir:-${TMPDIR:-/tmp}}/tw-package.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ $suite == host ]]; then
  bash scripts/install-deps.sh
  src=$(stage "$work")
  log "dpkg-buildpackage -us -uc -b in $src (DEB_BUILD_OPTIONS=$options)"
  if ! (cd "$src" && DEB_BUILD_OPTIONS=$options dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
    log "dpkg-buildpackage failed; its last lines:"
    tail -40 "$work/build.log" >&2
    exit 1
  fi
  collect "$work"
  exit 0
fi

# forky: a cached chroot with the build dependencies, then the build inside it.
[[ $(id -u) -eq 0 ]] || { log "building in a chroot needs root"; exit 1; }
command -v mmdebstrap >/dev/null || bash scripts/install-deps.sh
cache=${TOKENWARDEN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenwarden/vm}/chroot
mkdir -p "$cache"

# chroot_tarball NAME VARIANT PACKAGE...: a forky root filesystem made by mmdebstrap, cached by
# its recipe (editing this script does not remake it; CHROOT_RECIPE does), printed.
CHROOT_RECIPE="forky 1"
chroot_tarball() {
  local name=$1 variant=$2 recipe tarball uri keyring
  shift 2
  recipe=$( { echo "$CHROOT_RECIPE $variant"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16)
  tarball=$cache/forky-$name-$recipe.tar
  exec 9>"$cache/.build.lock"
  flock 9
  if [[ ! -s $tarball || -n ${TW_VM_REFRESH:-} ]]; then
    uri=$(mirror_uri) || { log "cannot find the Debian mirror in /etc/apt/sources.list*"; exit 1; }
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    log "making the forky $name chroot (mmdebstrap --variant=$variant, $uri): $*"
    if ! mmdebstrap --quiet --variant="$variant" --keyring="$keyring" \
        --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Languages "none"' \
        --include="$(IFS=,; echo "$*")" \
        forky "$tarball.new.tar" "deb [signed-by=$keyring] $uri forky main" 2>"$work/mmdebstrap.log"; then
      log "mmdebstrap failed for forky; nothing was cached. What apt said:"
      grep -E '^(E|W):|Unable to locate|has no installation candidate|unmet|Depends' "$work/mmdebstrap.log" | head -20 >&2 ||
        tail -20 "$work/mmdebstrap.log" >&2
      rm -f "$tarball.new.tar"
      exit 1
    fi
    mv "$tarball.new.tar" "$tarball"
    find "$cache" -name "forky-$name-*.tar" ! -name "$(basename "$tarball")" -delete
  fi
  flock -u 9
  echo "$tarball"
}

if [[ -n $selinux_chroot ]]; then
  # For the package tests: a forky system with Debian's SELinux policy store (not running).
  tarball=$(chroot_tarball selinux apt selinux-policy-default semodule-utils policycoreutils)
  mkdir -p "$selinux_chroot"
  tar -xf "$tarball" -C "$selinux_chroot"
  echo "$selinux_chroot"
  exit 0
fi

mapfile -t deps < <(build_deps)
tarball=$(chroot_tarball build buildd "${deps[@]}")
chroot_dir=$work/root
mkdir "$chroot_dir"
tar -xf "$tarball" -C "$chroot_dir"
mkdir -p "$chroot_dir/build"
src=$(stage "$chroot_dir/build")
log "dpkg-buildpackage -us -uc -b in a forky chroot (DEB_BUILD_OPTIONS=$options)"
if ! bash scripts/lib/in-chroot.sh "$chroot_dir" "cd /build/tokenwarden-$version && dpkg-buildpackage -us -uc -b" \
    HOME=/build DEB_BUILD_OPTIONS="$options" >"$work/build.log" 2>&1; then
  log "dpkg-buildpackage failed in the forky chroot; its last lines:"
  tail -40 "$work/build.log" >&2
  exit 1
fi
collect "$chroot_dir/build"
