#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tokenwarden.spec, checked with what Debian offers: `rpmspec --parse` reads it without an error,
and its %files lists match what `cmake --install` installs (after the spec's own %install
removals): every installed file is in exactly one package, every %files line names something,
and the %license files exist in the tree. Fedora's macros (%cmake, %systemd_*, %selinux_*) are not
on Debian; rpmbuild itself is not run here (docs/packaging.md).

  rpm_spec_test.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

def glob_match(path, pattern):
    """rpm's %files globs: * and ? stop at /; [...] is a character class."""
    rx, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            rx += "[^/]*"
        elif c == "?":
            rx += "[^/]"
        elif c == "[" and "]" in pattern[i:]:
            j = pattern.index("]", i)
            rx += pattern[i:j + 1]
            i = j
        else:
            rx += re.escape(c)
        i += 1
    return re.fullmatch(rx, path) is not None


PREFIXES = re.compile(r"^(%(doc|dir|license|config(\([a-z]+\))?|attr\([^)]*\)|ghost)\s+)+")


def main():
    source, build = Path(sys.argv[1]), Path(sys.argv[2])
    failures = []
    r = subprocess.run(["rpmspec", "--parse", "--define", "_unitdir /usr/lib/systemd/system",
                        "--define", "_buildrootdir /BUILDROOT", "--define", "buildroot /BUILDROOT",
                        str(source / "tokenwarden.spec")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0 or re.search(r"^(error|warning):", r.stderr, re.M):
        print(f"FAIL: rpmspec --parse: {r.stderr.strip()}")
        return 1
    sections, current = {}, None
    for line in r.stdout.splitlines():
        m = re.match(r"^%(files|install|check|changelog|prep|build|post\w*|pre\w*|description)\b\s*(\S*)", line)
        if m:
            current = (m.group(1), m.group(2))
            sections.setdefault(current, [])
            continue
        if current:
            sections[current].append(line)
    stage = Path(tempfile.mkdtemp(prefix="tw-rpm-"))
    try:
        env = dict(os.environ, DESTDIR=str(stage))
        subprocess.run(["cmake", "--install", str(build), "--prefix", "/usr"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        # The spec's %install after %cmake_install: its rm and mkdir lines, in the staging root.
        for line in sections.get(("install", ""), []):
            if re.match(r"^(rm|mkdir) ", line):
                subprocess.run(line.replace("/BUILDROOT", str(stage)), shell=True, check=True)
        installed = set()
        for d, dirs, files in os.walk(stage):
            rel = "/" + os.path.relpath(d, stage)
            for f in files:
                installed.add(os.path.normpath(rel + "/" + f))
            if not files and not dirs:
                installed.add(os.path.normpath(rel))
        owner = {}
        for (kind, name), lines in sections.items():
            if kind != "files":
                continue
            package = "tokenwarden" + (f"-{name}" if name else "")
            for line in lines:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                is_dir = line.startswith("%dir ")
                if line.startswith("%license "):
                    for lic in line.split()[1:]:
                        if not (source / lic).exists():
                            failures.append(f"{package}: %license {lic} is not in the tree")
                    continue
                path = PREFIXES.sub("", line)
                # A directory line takes everything below it, unless it is %dir.
                matched = [f for f in installed if glob_match(f, path) or
                           (not is_dir and any(glob_match(f[:i], path) for i in range(1, len(f)) if f[i] == "/"))]
                if not matched:
                    failures.append(f"{package}: %files line {line!r} matches nothing cmake --install installs")
                for f in matched:
                    if f in owner and owner[f] != package:
                        failures.append(f"{f} is in both {owner[f]} and {package}")
                    owner[f] = package
        for f in sorted(installed - set(owner)):
            failures.append(f"installed but in no package's %files: {f}")
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    print(f"tokenwarden.spec: {len(owner)} installed paths in {sum(1 for k in sections if k[0] == 'files')} packages, "
          f"{len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
