#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# in-chroot.sh ROOT COMMAND [NAME=VALUE...]: runs `sh -c COMMAND` as root in the root filesystem
# ROOT (a Debian chroot made by mmdebstrap), in a private mount namespace where ROOT is a mount of
# its own (as in sbuild's chroots: getcwd, realpath and the mount table the tests read then make
# sense inside), with /proc and /dev. Nothing stays mounted after it. The environment is clean
# (PATH, HOME=/root, LC_ALL=C.UTF-8, DEBIAN_FRONTEND=noninteractive) plus the NAME=VALUE given.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: in-chroot.sh ROOT COMMAND [NAME=VALUE...]" >&2; exit 64; }
root=$1 command=$2
shift 2
exec unshare --mount --fork sh -c '
  set -e
  root=$1 command=$2
  shift 2
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@" sh -c "$command"' sh "$root" "$command" "$@"
