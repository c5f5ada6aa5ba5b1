#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything tokenwarden needs to build and test on Debian 12 (bookworm), idempotently.
#
# - libbpf-dev (>= 1.4), bpftool and linux-libc-dev (6.12 uapi) come from bookworm-backports;
#   the bookworm versions lack BPF token support. The backports source is added when missing,
#   with the mirror URI taken from this machine's own apt configuration.
# - A second run checks installed versions with dpkg-query only and returns in well under a
#   second; apt is not touched when nothing is missing.
set -euo pipefail

[[ ${TW_DEBUG:-} ]] && set -x
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
log() { printf 'install-deps: %s\n' "$*" >&2; }

# Packages from bookworm itself.
BASE_PKGS=(
  build-essential cmake ninja-build pkg-config clang llvm clang-format
  libcli11-dev libfmt-dev doctest-dev nlohmann-json3-dev
  libselinux1-dev libsepol-dev secilc checkpolicy semodule-utils bzip2 m4 libsystemd-dev
  libssl-dev libclang-rt-14-dev
  libelf-dev zlib1g-dev libzstd-dev
  qemu-system-x86 busybox-static cpio gzip
  python3 procps util-linux mmdebstrap
  debhelper lintian scdoc rpm bash-completion zsh fish
)
# Packages that must come from bookworm-backports, with the minimum version we need.
BACKPORT_PKGS=(libbpf-dev:1.4 bpftool:7.4 linux-libc-dev:6.12)

need_root() {
  if [[ $(id -u) -ne 0 ]]; then
    log "must run as root (apt-get install); try: sudo $0"
    exit 1
  fi
}

# installed_version PKG -> prints the installed version or nothing.
installed_version() {
  dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
    awk '$1=="install" && $3=="installed" {print $4}'
}

version_at_least() { # have want
  [[ -n $1 ]] && dpkg --compare-versions "$1" ge "$2"
}

missing=()
for p in "${BASE_PKGS[@]}"; do
  [[ -n $(installed_version "$p") ]] || missing+=("$p")
done
missing_bp=()
for spec in "${BACKPORT_PKGS[@]}"; do
  p=${spec%%:*} want=${spec#*:}
  version_at_least "$(installed_version "$p")" "$want" || missing_bp+=("$p")
done

if [[ ${#missing[@]} -eq 0 && ${#missing_bp[@]} -eq 0 ]]; then
  log "all dependencies present"
  exit 0
fi
need_root

has_backports_source() {
  grep -rqsE '(^|[[:space:]])bookworm-backports([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

if [[ ${#missing_bp[@]} -gt 0 ]] && ! has_backports_source; then
  uri=$(mirror_uri) || { log "cannot find a bookworm mirror in /etc/apt/sources.list*: add bookworm-backports by hand"; exit 1; }
  log "adding bookworm-backports from $uri"
  cat >/etc/apt/sources.list.d/tokenwarden-bookworm-backports.sources <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get update -qq
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing: ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ ${#missing_bp[@]} -gt 0 ]]; then
  log "installing from bookworm-backports: ${missing_bp[*]}"
  apt-get install -y -qq --no-install-recommends -t bookworm-backports "${missing_bp[@]}" >/dev/null
fi
for spec in "${BACKPORT_PKGS[@]}"; do
  p=${spec%%:*} want=${spec#*:}
  version_at_least "$(installed_version "$p")" "$want" || { log "$p >= $want is still missing"; exit 1; }
done
log "done"
