#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Golden tests for outputs tokenwarden owns: IR dumps, rendered diagnostics, explanations.

One file per test (tests/golden/*.golden):

    # args: compile --emit ir policy.tw      (run in a scratch directory holding the inputs)
    # exit: 0
    --- file policy.tw
    ...input...
    --- file other.tw                        (optional, more inputs)
    ...
    --- output                               (stdout then stderr, as printed)
    ...

  golden.py run TOKENWARDEN FILE        compare, print a diff on mismatch, exit 1
  golden.py rebase TOKENWARDEN FILE...  rewrite the `--- output` and `# exit` of each file
"""
import difflib
import pathlib
import shlex
import subprocess
import sys
import tempfile


def parse(path):
    args, code, files, output, current = None, None, {}, None, None
    lines = path.read_text().split("\n")
    buf = []

    def flush():
        nonlocal output
        if current is None:
            return
        text = "\n".join(buf)
        if current == ("output",):
            output = text
        else:
            files[current[1]] = text + "\n"

    for line in lines:
        if line.startswith("# args: ") and current is None:
            args = shlex.split(line[len("# args: "):])
        elif line.startswith("# exit: ") and current is None:
            code = int(line[len("# exit: "):])
        elif line.startswith("--- file "):
            flush()
            current, buf = ("file", line[len("--- file "):].strip()), []
        elif line == "--- output":
            flush()
            current, buf = ("output",), []
        else:
            buf.append(line)
    flush()
    if args is None or not files:
        sys.exit(f"{path}: needs a `# args:` line and at least one `--- file` section")
    return args, code, files, (output or "").rstrip("\n")


def run(tokenwarden, args, files):
    with tempfile.TemporaryDirectory() as d:
        for name, text in files.items():
            p = pathlib.Path(d) / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        r = subprocess.run([tokenwarden] + args, cwd=d, capture_output=True, text=True,
                           env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
        return r.returncode, (r.stdout + r.stderr).rstrip("\n")


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("run", "rebase"):
        sys.exit(__doc__)
    mode, tokenwarden = sys.argv[1], str(pathlib.Path(sys.argv[2]).resolve())
    failed = 0
    for f in sys.argv[3:]:
        path = pathlib.Path(f)
        args, code, files, expected = parse(path)
        got_code, got = run(tokenwarden, args, files)
        if mode == "rebase":
            text = path.read_text()
            body = text[text.index("--- file "):]
            if "\n--- output" in body:
                body = body[:body.index("\n--- output")]
            path.write_text(f"# exit: {got_code}\n# args: {shlex.join(args)}\n{body.rstrip(chr(10))}\n--- output\n{got}\n")
            print(f"rebased {path}")
            continue
        if got_code != code or got != expected:
            failed += 1
            print(f"FAIL {path}: exit {got_code} (expected {code})")
            sys.stdout.writelines(difflib.unified_diff(
                expected.split("\n"), got.split("\n"), "expected", "got", lineterm="\n", n=2))
            print("\n(rebase with: python3 tests/golden/golden.py rebase build/tools/tokenwarden " + str(path) + ")")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
