#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cmake --install into a staging prefix puts files in FHS places and the binary runs from there.
set -euo pipefail
build=$1
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage cmake --install "$build" --prefix /usr >/dev/null
for f in usr/bin/tokenwarden usr/share/doc/tokenwarden/README.md usr/share/doc/tokenwarden/architecture.md \
  usr/share/selinux/packages/tokenwarden.cil.bz2 usr/share/selinux/devel/include/contrib/tokenwarden.if \
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
# The installed module is the configured variant, whole.
bzip2 -dc "$stage/usr/share/selinux/packages/tokenwarden.cil.bz2" | grep -q '(macro tokenwarden_token_map_create'

echo "installed into $stage: $(cd "$stage" && find . -type f | sort | tr '\n' ' ')"
