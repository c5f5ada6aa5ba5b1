#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The man pages match the CLI: every verb `tokenwarden --help` lists has a page
docs/man/tokenwarden-VERB.8.scd, whose OPTIONS are exactly the options of `tokenwarden VERB
--help`; tokenwarden.8's OPTIONS are the binary's own; no page exists for a verb that is gone; and
each rendered page (BUILD/docs/man) formats with groff without a warning.

  man_test.py TOKENWARDEN SOURCE_DIR BUILD_DIR
"""
import re
import subprocess
import sys
from pathlib import Path


def help_text(binary, *verb):
    return subprocess.run([binary, *verb, "--help"], check=True, stdout=subprocess.PIPE, text=True).stdout


def help_section(text, title):
    """The lines of one section of CLI11's help ("Options:", or "OPTIONS:" from CLI11 2.4 on)."""
    lines, inside = [], False
    for line in text.splitlines():
        if re.match(r"^[A-Za-z]+:$", line):
            inside = line[:-1].lower() == title.lower()
            continue
        if inside:
            if line and not line.startswith(" "):
                break
            lines.append(line)
    return lines


def help_verbs(text):
    """Verb names: the lines of the Subcommands section that start a new entry."""
    return [line.split()[0] for line in help_section(text, "Subcommands") if re.match(r"^  \S", line)]


def help_options(text):
    """Option names at the start of an entry: "  -o,--output FILE" (CLI11 2.1) or
    "  -h,     --help" and "          --version" (2.4); a wrapped description is indented further."""
    names = set()
    for line in help_section(text, "Options"):
        if not re.match(r"^ {2,12}-", line):
            continue
        for token in line.split():
            if not token.startswith("-"):
                break
            names.update(n for n in token.split(",") if n.startswith("-"))
    return names


def page_options(scd):
    """Options named at the start of an item line in the page's OPTIONS section: *-o*, *--output* _FILE_."""
    names, inside = set(), False
    for line in scd.read_text().splitlines():
        if line.startswith("# "):
            inside = line == "# OPTIONS"
            continue
        if inside and line.startswith("*-"):
            names.update(re.findall(r"\*(--?[A-Za-z0-9][A-Za-z0-9-]*)\*", line))
    return names


def main():
    binary, source, build = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    man = source / "docs/man"
    failures = []
    top = help_text(binary)
    verbs = help_verbs(top)
    if len(verbs) < 10:
        failures.append(f"found only {len(verbs)} verbs in `tokenwarden --help`")
    pages = {("", "tokenwarden.8.scd")} | {(v, f"tokenwarden-{v}.8.scd") for v in verbs}
    for verb, name in sorted(pages):
        scd = man / name
        if not scd.exists():
            failures.append(f"verb `{verb}` has no man page ({scd.relative_to(source)})")
            continue
        args = [verb] if verb else []
        # A verb that only groups others (`import systemd`): the options of the ones it groups.
        subs = help_verbs(help_text(binary, *args)) if verb else []
        want = set(help_options(help_text(binary, *args)))
        for sub in subs:
            want |= set(help_options(help_text(binary, verb, sub)))
        have = page_options(scd)
        if want != have:
            failures.append(f"{name}: options differ from `tokenwarden {verb} --help`: "
                            f"missing {sorted(want - have)}, not in --help {sorted(have - want)}")
    # The policy language, and the SELinux package's installer (not a verb).
    known = {name for _, name in pages} | {"tokenwarden.tw.5.scd", "tokenwarden-selinux.8.scd"}
    for scd in sorted(man.glob("*.scd")):
        if scd.name not in known:
            failures.append(f"{scd.name}: no such verb")
    for scd in sorted(known):
        rendered = build / "docs/man" / scd.removesuffix(".scd")
        if not rendered.exists():
            failures.append(f"{rendered}: not rendered by the build")
            continue
        r = subprocess.run(["groff", "-man", "-ww", "-z", str(rendered)], stderr=subprocess.PIPE, text=True)
        if r.returncode != 0 or r.stderr.strip():
            failures.append(f"{rendered.name}: groff warns: {r.stderr.strip()}")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(pages) + 1} man pages, {len(verbs)} verbs, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
