#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cmake --install into a staging prefix puts files in FHS places and the binary runs from there.
set -euo pipefail
build=$1
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage cmake --install "$build" --prefix /usr >/dev/null
for f in usr/bin/tokenwarden usr/share/doc/tokenwarden/README.md usr/share/doc/tokenwarden/architecture.md \
  usr/share/selinux/packages/tokenwarden/token/tokenwarden.cil.bz2 \
  usr/share/selinux/packages/tokenwarden/legacy/tokenwarden.cil.bz2 \
  usr/share/selinux/packages/tokenwarden/tokenwarden-token-perms.cil.bz2 \
  usr/share/selinux/devel/include/contrib/tokenwarden.if usr/sbin/tokenwarden-selinux \
  usr/share/man/man8/tokenwarden.8 usr/share/man/man8/tokenwarden-load.8 usr/share/man/man5/tokenwarden.tw.5 \
  usr/share/bash-completion/completions/tokenwarden usr/share/zsh/vendor-completions/_tokenwarden \
  usr/share/fish/vendor_completions.d/tokenwarden.fish etc/default/tokenwarden \
  usr/lib/systemd/system/tokenwarden.service usr/lib/systemd/system/tokenwarden-agent.service \
  usr/share/doc/tokenwarden/examples/ci-runner.tw usr/share/doc/tokenwarden/examples/common.tw \
  usr/share/doc/tokenwarden/LICENSE usr/share/doc/tokenwarden/LICENSES/Apache-2.0.txt; do
  [[ -e $stage/$f ]] || { echo "missing after install: $f"; exit 1; }
done
"$stage/usr/bin/tokenwarden" --version | grep -q '^tokenwarden '
# The unit runs the installed binary (systemd itself runs it in the real-system VM flavour).
grep -q '^ExecStart=/usr/bin/tokenwarden load --or-replace ' "$stage/usr/lib/systemd/system/tokenwarden.service"
grep -q '^ExecReload=/usr/bin/tokenwarden replace ' "$stage/usr/lib/systemd/system/tokenwarden.service"
grep -q '^ExecStart=/usr/bin/tokenwarden agent ' "$stage/usr/lib/systemd/system/tokenwarden-agent.service"
# The installed examples check and pass their decision cases from where they are installed.
"$stage/usr/bin/tokenwarden" test "$stage/usr/share/doc/tokenwarden/examples/ci-runner.tw" | tail -n1 | grep -q ' 0 failed$'
# Both variants of the module, whole; the installer script knows where they are.
for v in token legacy; do
  bzip2 -dc "$stage/usr/share/selinux/packages/tokenwarden/$v/tokenwarden.cil.bz2" | grep -q '(macro tokenwarden_token_map_create'
done
# The installer finds the variants beside itself, wherever the prefix is (a fake semodule says
# which file it was given).
mkdir "$stage/fake"
printf '#!/bin/sh\n[ "$1" = -X ] && echo "$4" >"%s/fake/installed"\nexit 0\n' "$stage" >"$stage/fake/semodule"
chmod +x "$stage/fake/semodule"
PATH=$stage/fake:$PATH "$stage/usr/sbin/tokenwarden-selinux" install >/dev/null
[[ $(realpath "$(cat "$stage/fake/installed")") == "$stage/usr/share/selinux/packages/tokenwarden/token/tokenwarden.cil.bz2" ]]
rm -r "$stage/fake"
# No path of the build tree in what is installed.
if grep -rlF "$(cd "$build" && pwd)" "$stage" --exclude=tokenwarden; then echo "installed files name the build tree"; exit 1; fi

echo "installed into $stage: $(cd "$stage" && find . -type f | sort | tr '\n' ' ')"
