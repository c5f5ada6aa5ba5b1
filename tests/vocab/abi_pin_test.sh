#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The vocabulary's tables cannot change the ABI's numbering silently: a copy of vocab/ with two
# reasons swapped, or an attribute inserted, must fail to compile (vocab/abi_pin.h), and the
# unchanged copy must compile (so the failures are the pin's, not the harness's).
#
#   abi_pin_test.sh SOURCE_DIR CXX        the test
#   abi_pin_test.sh SOURCE_DIR CXX --print  this tree's fingerprint, to pin a new TW_ABI_VERSION
set -euo pipefail
src=$1 cxx=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ ${3:-} == --print ]]; then
  printf '#include "vocab/names.h"\n#include <cstdio>\nint main() { std::printf("0x%%016llxULL\\n", (unsigned long long)tw::vocab::fingerprint(tw::vocab::kAbiVocabulary)); }\n' > "$tmp/p.cpp"
  "$cxx" -std=c++20 -I"$src" -o "$tmp/p" "$tmp/p.cpp" && "$tmp/p"
  exit
fi

fail=0
# compile NAME: names.cpp (which includes the pin) from a fresh copy of vocab/ after EDIT.
compile() {
  rm -rf "$tmp/tree" && mkdir -p "$tmp/tree" && cp -r "$src/vocab" "$tmp/tree/"
  (cd "$tmp/tree/vocab" && eval "$2")
  "$cxx" -std=c++20 -fsyntax-only -I"$tmp/tree" "$tmp/tree/vocab/names.cpp" > "$tmp/$1.log" 2>&1
}
expect_pin_failure() {
  if compile "$1" "$2"; then
    echo "FAIL: $1 compiled; the ABI pin did not notice"; fail=1
  elif ! grep -q "changed the ABI's numbering" "$tmp/$1.log"; then
    echo "FAIL: $1 failed, but not at the pin:"; head -5 "$tmp/$1.log"; fail=1
  else
    echo "ok: $1 fails the build at the pin"
  fi
}

if compile unchanged true; then echo "ok: the unchanged tables compile"; else
  echo "FAIL: the unchanged tables do not compile:"; head -5 "$tmp/unchanged.log"; exit 1
fi
# Two reasons swapped: their texts stay right, their numbers do not.
expect_pin_failure reasons_swapped "sed -i '/^TW_REASON(CMD,/{h;d};/^TW_REASON(CAP,/G' reason.def"
# An attribute inserted before the last: every later number moves.
expect_pin_failure attr_inserted "sed -i 's/^TW_ATTR(BPFFS,/TW_ATTR(NEW, new_attr, \"creator.new\", 0, 0)\nTW_ATTR(BPFFS,/' attr.def"
# An errno's value changed.
expect_pin_failure errno_value "sed -i 's/^TW_ERRNO(EBUSY, 16)/TW_ERRNO(EBUSY, 17)/' errno.def"
# A hook appended: the counters' arrays grow.
expect_pin_failure hook_appended "echo 'TW_HOOK(TOKEN_FREE, token_free, \"bpf_token_free\")' >> hook.def"
# Two guard operations swapped: the guard's counters and events would be read as the other.
expect_pin_failure guard_swapped "sed -i '/^TW_GUARD(UNLINK,/{h;d};/^TW_GUARD(RMDIR,/G' guard.def"
exit $fail
