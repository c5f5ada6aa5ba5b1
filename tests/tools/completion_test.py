#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The generated completion scripts (BUILD/tools/completion/, what the packages install) complete
what the CLI accepts: bash's for a set of prefixes, compared with `tokenwarden --help` and the
catalogue where the answer comes from them; fish's through `complete -C`; zsh's parses.

  completion_test.py TOKENWARDEN SOURCE_DIR BUILD_DIR
"""
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from man_test import help_options, help_text, help_verbs  # noqa: E402


def bash_complete(script, words):
    """COMPREPLY for the command line `words` (the last word is the one being completed)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    prog = (f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=(); "
            "_tokenwarden; printf '%s\\n' \"${COMPREPLY[@]}\"")
    out = subprocess.run(["bash", "--norc", "-c", prog], check=True, stdout=subprocess.PIPE, text=True).stdout
    return sorted(line for line in out.splitlines() if line)


def main():
    binary, source, build = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    gen = build / "tools/completion"
    bash, zsh, fish = gen / "bash/tokenwarden", gen / "zsh/_tokenwarden", gen / "fish/tokenwarden.fish"
    verbs = sorted(help_verbs(help_text(binary)))
    examples = source / "examples"
    cases = [
        (["tokenwarden", ""], verbs),
        (["tokenwarden", "st"], [v for v in verbs if v.startswith("st")]),
        (["tokenwarden", "--error-limit", "5", "comp"], [v for v in verbs if v.startswith("comp")]),
        (["tokenwarden", "load", "--"], sorted(o for o in help_options(help_text(binary, "load")) if o.startswith("--"))),
        (["tokenwarden", "status", "--p"], ["--pin-root", "--prometheus"]),
        (["tokenwarden", "delegate", "--maps", "array,ha"], ["array,hash", "array,hash_of_maps"]),
        (["tokenwarden", "delegate", "--progs", "xd"], ["xdp"]),
        (["tokenwarden", "delegate", "--attachs", "tcx_"], ["tcx_egress", "tcx_ingress"]),
        (["tokenwarden", "compile", "--emit", ""], ["cil", "ir", "json"]),
        (["tokenwarden", "check", "--target-kernel", "r"], ["running"]),
        (["tokenwarden", "check", str(examples / "ci-run")],
         sorted(str(p) for p in examples.glob("ci-run*"))),
        (["tokenwarden", "completion", ""], ["bash", "fish", "zsh"]),
    ]
    failures = []
    for words, want in cases:
        got = bash_complete(bash, words)
        if got != want:
            failures.append(f"bash: {' '.join(words)!r}: got {got}, expected {want}")
    for words, want in [("tokenwarden delegate --maps array,ha", {"array,hash", "array,hash_of_maps"}),
                        ("tokenwarden ch", {"check"}), ("tokenwarden compile --emit ", {"ir", "json", "cil"})]:
        out = subprocess.run(["fish", "--no-config", "-c", f"source '{fish}'; complete -C '{words}'"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        got = {line.split("\t")[0] for line in out.stdout.splitlines()}
        if got != want or out.stderr.strip():
            failures.append(f"fish: {words!r}: got {sorted(got)}, expected {sorted(want)} {out.stderr.strip()}")
    for shell, script in (("zsh", zsh), ("fish", fish)):
        r = subprocess.run([shell, "-n", str(script)], stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            failures.append(f"{shell} -n {script.name}: {r.stderr.strip()}")
    if not re.search(r"^#compdef tokenwarden$", zsh.read_text(), re.M):
        failures.append("zsh: no #compdef line")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(cases)} bash prefixes, 3 fish prefixes, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
