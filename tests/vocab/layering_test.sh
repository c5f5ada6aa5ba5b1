#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The layers' edges (docs/architecture.md): vocab/ uses nothing of ours; kernel/ uses vocab/ only;
# compiler/ uses vocab/ only, never kernel/ or libbpf, so that kernel/ is the only code that
# talks to the kernel through bpf(2). Checked on the includes and on the built library's
# undefined symbols.
#
#   layering_test.sh SOURCE_DIR COMPILER_LIBRARY
set -euo pipefail
src=$1 lib=$2
fail=0
# includes DIR PATTERN WHY: no file under DIR includes PATTERN.
includes() {
  local hits
  hits=$(grep -rnE "^#include [<\"]($2)" "$src/$1" --include='*.h' --include='*.cpp' --include='*.c' --include='*.def' || true)
  if [[ -n $hits ]]; then echo "FAIL: $1/ $3:"; echo "$hits" | sed "s|$src/||"; fail=1; else echo "ok: $1/ $3"; fi
}
includes vocab 'kernel/|compiler/|tools/|bpf/|\.\./' "includes nothing of the other layers, nor libbpf"
includes kernel 'compiler/|tools/' "includes neither the compiler nor the tools"
includes compiler 'kernel/|tools/|bpf/|linux/bpf\.h' "includes neither kernel/ nor libbpf nor the uapi bpf header"
undefined=$(nm -u "$lib" | grep -E ' (bpf_|libbpf_|btf__|bpf_object__|elf_|gelf_)' | sort -u || true)
if [[ -n $undefined ]]; then echo "FAIL: $(basename "$lib") needs libbpf or libelf:"; echo "$undefined" | head; fail=1
else echo "ok: $(basename "$lib") needs neither libbpf nor libelf"; fi
exit $fail
