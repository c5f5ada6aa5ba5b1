#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every source file names its licence in an SPDX-License-Identifier line within its first three
lines: GPL-2.0-only OR BSD-2-Clause for the BPF programs and the headers they include
(lsm-progs/, *.bpf.c, vocab/'s ABI header and tables), which the kernel also sees as "Dual
BSD/GPL"; Apache-2.0 for the rest (LICENSE). Prints each file that does not, and exits 1.

  spdx_test.py SOURCE_DIR
"""
import os
import re
import sys

SOURCE = re.compile(r"(\.(cpp|h|c|py|sh|cmake|def|cil|in|scd|default)|/CMakeLists\.txt|\.service"
                    r"|^/debian/(rules|.*\.(postinst|prerm|postrm|preinst))|\.spec)$")
SKIP_DIRS = {".git", "corpus"}
BPF = "GPL-2.0-only OR BSD-2-Clause"


# The vocabulary's files that the BPF programs include: the ABI header and its tables.
BPF_VOCAB = re.compile(r"vocab/(tw_abi\.h|(attr|hook|reason|errno|capability|guard)\.def)$")


def expected(rel):
    bpf = rel.endswith(".bpf.c") or rel.startswith("lsm-progs/include/") or BPF_VOCAB.match(rel)
    return BPF if bpf else "Apache-2.0"


def main():
    root = os.path.abspath(sys.argv[1])
    bad, seen = [], 0
    for d, dirs, files in os.walk(root):
        # Not sources: build trees (also dpkg's obj-*), and what debhelper stages in debian/PACKAGE.
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.startswith("build")
                   and not os.path.exists(os.path.join(d, x, "CMakeCache.txt"))
                   and not (os.path.relpath(d, root) == "debian" and x not in ("source", "tests"))]
        for f in files:
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root)
            if not SOURCE.search("/" + rel) and rel != ".ci/run":
                continue
            seen += 1
            with open(path, encoding="utf-8", errors="replace") as fh:
                head = [fh.readline() for _ in range(3)]
            m = [re.search(r"SPDX-License-Identifier: ([^*\n]*?)\s*(\*/)?$", line) for line in head]
            found = next((x.group(1) for x in m if x), None)
            if found != expected(rel):
                bad.append(f"{rel}: {'no SPDX-License-Identifier line' if found is None else found}"
                           f" (expected {expected(rel)})")
            if rel.endswith(".bpf.c"):
                with open(path, encoding="utf-8", errors="replace") as fh:
                    if 'SEC("license") = "Dual BSD/GPL"' not in fh.read():
                        bad.append(f"{rel}: its license string is not \"Dual BSD/GPL\"")
    for b in bad:
        print(b)
    print(f"{seen} source files, {len(bad)} without the right SPDX line")
    return 1 if bad or seen < 100 else 0


if __name__ == "__main__":
    sys.exit(main())
