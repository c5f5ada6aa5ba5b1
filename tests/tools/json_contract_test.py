#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every verb's --json output against docs/json.md, which this reads: each document on stdout is
one JSON value whose keys are exactly the frame's and the verb's (none missing, none extra), each
value of the type the table says (nested objects too), stderr is empty, and `exit_code` is the
process's exit status, which each case also expects. Streams (audit --follow, agent) are JSON Lines
of the records the doc lists. Runs as an unprivileged test on the build host: the kernel verbs are
exercised where they succeed here (doctor, delegate --dry-run, status and unload of an empty pin
root) and where they fail (load, replace, audit with nothing loaded).

  json_contract_test.py TOKENWARDEN SOURCE_DIR
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

FAILURES = []


def fail(case, msg):
    FAILURES.append(f"{case}: {msg}")


def read_tables(doc):
    """{section name: {key: type}} from each `### name` heading's table."""
    sections, name = {}, None
    for line in doc.splitlines():
        h = re.match(r"^##+ (.+)$", line)
        if h:
            name = h.group(1).strip()
            continue
        row = re.match(r"^\| `([a-z_0-9]+)` \| ([^|]+) \|", line)
        if row and name:
            sections.setdefault(name, {})[row.group(1)] = row.group(2).strip()
    return sections


def check_value(case, where, value, type_text, sections):
    nullable = type_text.endswith(" or null")
    t = type_text[: -len(" or null")] if nullable else type_text
    if value is None:
        if not nullable:
            fail(case, f"{where} is null; docs/json.md says {type_text}")
        return
    if t.startswith("array of "):
        if not isinstance(value, list):
            return fail(case, f"{where} is {type(value).__name__}, not an array")
        for i, v in enumerate(value):
            check_value(case, f"{where}[{i}]", v, t[len("array of "):], sections)
        return
    simple = {"string": str, "number": (int, float), "boolean": bool, "object": dict}
    if t in simple:
        ok = isinstance(value, simple[t]) and not (t == "number" and isinstance(value, bool))
        if not ok:
            fail(case, f"{where} is {json.dumps(value)[:60]}, not a {t}")
        return
    if t == "string or null":
        return
    if t not in sections:
        return fail(case, f"{where}: docs/json.md names type `{t}` without a table")
    check_object(case, where, value, sections[t], sections)


def check_object(case, where, obj, keys, sections):
    if not isinstance(obj, dict):
        return fail(case, f"{where} is not an object")
    missing = sorted(set(keys) - set(obj))
    extra = sorted(set(obj) - set(keys))
    if missing:
        fail(case, f"{where} lacks {missing}")
    if extra:
        fail(case, f"{where} has keys docs/json.md does not list: {extra}")
    for k, t in keys.items():
        if k in obj:
            check_value(case, f"{where}.{k}", obj[k], t, sections)


def run(tw, args, cwd, env=None):
    p = subprocess.run([tw] + args, cwd=cwd, capture_output=True, text=True, timeout=60,
                       env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


def document(case, tw, args, cwd, sections, verb, expect_exit, check=None, env=None):
    rc, out, err = run(tw, args, cwd, env)
    if rc not in expect_exit:
        fail(case, f"exit {rc}, expected {expect_exit}; stderr: {err[:300]}")
    if err:
        fail(case, f"stderr is not empty under --json: {err[:300]}")
    try:
        doc = json.loads(out)
    except json.JSONDecodeError as e:
        return fail(case, f"stdout is not one JSON document ({e}): {out[:300]}")
    keys = dict(sections["The frame"])
    if verb:
        keys.update(sections["load" if verb == "replace" else verb])
    check_object(case, "document", doc, keys, sections)
    if doc.get("exit_code") != rc:
        fail(case, f"exit_code {doc.get('exit_code')} is not the exit status {rc}")
    if doc.get("ok") != (rc == 0):
        fail(case, f"ok is {doc.get('ok')} with exit status {rc}")
    if doc.get("schema") != 1:
        fail(case, f"schema {doc.get('schema')}")
    if doc.get("verb") != verb:
        fail(case, f"verb {doc.get('verb')!r}, expected {verb!r}")
    if rc != 0 and not doc.get("errors") and not doc.get("diagnostics") and not (doc.get("results") or doc.get("failed")):
        fail(case, f"exit {rc} with no error, diagnostic or failed case in the document")
    if check:
        try:
            problem = check(doc)
        except (KeyError, IndexError, TypeError, AttributeError) as e:
            problem = f"{type(e).__name__} {e} in {json.dumps(doc)[:300]}"
        if problem:
            fail(case, problem)
    print(f"ok: {case} (exit {rc})")
    return doc


def stream(case, tw, args, cwd, sections, verb, expect_exit, kinds):
    rc, out, err = run(tw, args, cwd)
    if rc not in expect_exit:
        fail(case, f"exit {rc}, expected {expect_exit}; stderr: {err[:300]}")
    if err:
        fail(case, f"stderr is not empty under --json: {err[:300]}")
    seen = set()
    for line in out.splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            return fail(case, f"a line is not JSON: {line[:200]}")
        kind = [k for k in rec if k not in ("schema", "verb")]
        if rec.get("schema") != 1 or rec.get("verb") != verb or len(kind) != 1:
            return fail(case, f"not a record: {line[:200]}")
        seen.add(kind[0])
        if kind[0] == "error":
            check_object(case, "error record", rec["error"], sections["error"], sections)
        elif kind[0] == "event":
            check_object(case, "event record", rec["event"], sections["event"], sections)
        elif kind[0] not in ("entry", "warning", "note"):
            fail(case, f"unknown record kind {kind[0]}")
    if not kinds <= seen:
        fail(case, f"records {sorted(seen)}; expected at least {sorted(kinds)}")
    print(f"ok: {case} (exit {rc}, records {sorted(seen)})")


def main():
    tw, src = sys.argv[1], pathlib.Path(sys.argv[2])
    sections = read_tables((src / "docs/json.md").read_text())
    for needed in ("The frame", "error", "diagnostic", "load", "status", "doctor"):
        if needed not in sections:
            print(f"FAIL: docs/json.md has no table for {needed}")
            return 1
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        (d / "ok.tw").write_text('policy p;\ndefault deny;\n'
                                 'profile ci { match creator.uid == 1000; allow cmd map_create; allow map array; }\n')
        (d / "bad.tw").write_text("default maybe;\nprofile x { allow cmd prog_lod; }\n")
        (d / "ok.cases").write_text("[uid 1000 map]\nhook = token_create\ncreator = uid=1000\n"
                                    "token = cmds=map_create maps=array\nexpect = allow ci\n\n"
                                    "[wrong]\nhook = token_create\ncreator = uid=5\nexpect = allow ci\n")
        pins = d / "pins"
        pins.mkdir()
        ev = ["-e", "hook=token_create", "-e", "creator=uid=1000", "-e", "token=cmds=map_create maps=array"]
        D = lambda *a, **k: document(*a, **k)
        D("version", tw, ["--version", "--json"], d, sections, "version", {0})
        D("check ok", tw, ["check", "--json", "ok.tw"], d, sections, "check", {0},
          check=lambda j: None if j["policies"][0]["profiles"] == 1 else "profiles is not 1")
        D("check broken", tw, ["--json", "check", "ok.tw", "bad.tw"], d, sections, "check", {1},
          check=lambda j: None if len(j["policies"]) == 2 and any(x["code"] == "E010" for x in j["diagnostics"])
          else "no E010 among the diagnostics, or not two policies")
        D("check bad target", tw, ["check", "--json", "--target-kernel", "5.0", "ok.tw"], d, sections, "check", {1},
          check=lambda j: None if j["errors"] and not j["policies"][0]["ok"] else
          "an invalid --target-kernel is not an error")
        D("compile to stdout", tw, ["compile", "--json", "ok.tw"], d, sections, "compile", {0},
          check=lambda j: None if j["content"].startswith("{") and j["output"] is None else "no artifact in content")
        D("compile to file", tw, ["compile", "--json", "ok.tw", "-o", "ok.twp"], d, sections, "compile", {0},
          check=lambda j: None if (d / "ok.twp").exists() and j["content"] is None else "no artifact written")
        D("compile broken", tw, ["compile", "--json", "bad.tw", "-o", "bad.twp"], d, sections, "compile", {1})
        D("explain artifact", tw, ["explain", "--json", "ok.twp"], d, sections, "explain", {0},
          check=lambda j: None if "ci" in j["explanation"] else "the explanation does not name the profile")
        D("explain missing", tw, ["explain", "--json", "nope.tw"], d, sections, "explain", {1})
        (d / "app.service").write_text("[Service]\nPrivateUsers=yes\nPrivateBPF=yes\nBPFDelegateCommands=BPFMapCreate\n"
                                       "BPFDelegateMaps=BPFMapTypeArray\n")
        (d / "bad.service").write_text("[Service]\nPrivateBPF=yes\nBPFDelegateMaps=BPFMapTypeHsah\n")
        D("import systemd", tw, ["--json", "import", "systemd", "app.service"], d, sections, "import", {0},
          check=lambda j: None if "profile app {" in j["policy"] and j["output"] is None else "no profile app")
        D("import broken unit", tw, ["--json", "import", "systemd", "bad.service", "-o", "out.tw"], d, sections, "import", {1},
          check=lambda j: None if j["policy"] is None and any(x["code"] == "E040" for x in j["diagnostics"])
          and not (d / "out.tw").exists() else "no E040, or something written")
        # Events as `audit --follow --json` records them, under a learning profile in audit mode.
        (d / "learn.tw").write_text("policy learn;\nprofile app { match creator.uid == 1000; mode audit; }\n")

        def event(hook, verdict, request, what, reason):
            e = {"time": "2026-12-04T02:00:00.000001Z", "verdict": verdict, "hook": hook, "what": what,
                 "profile": "app", "reason": reason, "pid": 7, "tgid": 7, "comm": "app", "uid": 1000, "gid": 1000,
                 "cgroup_id": 1, "token": "0xff01", "errno": None if verdict == "allow" else "EPERM", "value": None,
                 "limit": None, "request": request, "cgroup": None, "exe": None}
            return json.dumps({"schema": 1, "verb": "audit", "event": e})
        (d / "events.jsonl").write_text("\n".join([
            event("bpf_token_create", "allow", {"delegates": {"cmds": ["map_create"], "maps": ["hash"], "progs": [],
                                                              "attachs": []}, "userns_owner": 0, "userns_depth": 1},
                  "token", "labelled with its profile"),
            event("bpf_token_cmd", "audit", {"cmd": "map_create"}, "cmd map_create", "command not allowed"),
            event("bpf_map_create", "audit", {"map": "hash", "max_entries": 64, "key_size": 4, "value_size": 8,
                                              "flags": 0}, "map hash", "map type not allowed")]) + "\n")
        (d / "bad.jsonl").write_text(event("bpf_token_cmd", "audit", {"cmd": "map_creat"}, "cmd", "x") + "\nnot json\n")
        D("generate", tw, ["--json", "generate", "events.jsonl", "--policy", "learn.tw", "-o", "gen.tw"], d, sections,
          "generate", {0}, check=lambda j: None if "profile app {" in j["generated"] and (d / "gen.tw").exists()
          and (d / "gen.cases").exists() and j["profiles"] == 1 else "no profile app, or nothing written")
        D("generate from a broken event file", tw, ["--json", "generate", "bad.jsonl", "--policy", "learn.tw", "-o", "no.tw"],
          d, sections, "generate", {1}, check=lambda j: None if [x["line"] for x in j["diagnostics"] if x["code"] == "E042"]
          == [1, 2] and not (d / "no.tw").exists() and j["generated"] is None else "not E042 at lines 1 and 2, or something written")
        D("replay", tw, ["--json", "replay", "events.jsonl", "--policy", "gen.tw"], d, sections, "replay", {0},
          check=lambda j: None if j["events"] == 3 and j["same"] == 1 and j["newly_allowed"] == 2
          and j["changes"][0]["rule"].startswith("gen.tw:") else "not 1 same and 2 newly allowed by a rule of gen.tw")
        D("replay fails on change", tw, ["--json", "replay", "events.jsonl", "--policy", "gen.tw", "--fail-on-change"], d,
          sections, "replay", {1})
        D("replay a broken event file", tw, ["--json", "replay", "bad.jsonl", "--policy", "gen.tw"], d, sections, "replay", {1},
          check=lambda j: None if any(x["code"] == "E042" for x in j["diagnostics"]) and j["events"] is None else "no E042")
        D("why", tw, ["--json", "why", "events.jsonl", "--policy", "gen.tw", "--pid", "7", "--log", "learn.tw"], d, sections,
          "why", {0}, check=lambda j: None if j["refusals"] == [] and j["delegations"][0]["pid"] == 7 else "not the delegation of pid 7")
        (d / "web.json").write_text(json.dumps({"name": "web", "type": "container", "expanded_config": {
            "security.bpffs.delegate_cmds": "map_create", "security.bpffs.delegate_maps": "array"}}, indent=2))
        D("import incus", tw, ["--json", "import", "incus", "web.json"], d, sections, "import", {0},
          check=lambda j: None if "profile incus-web {" in j["policy"] and j["source"] == "incus" else "no profile incus-web")
        D("import lxd without security.delegate_bpf", tw, ["--json", "import", "lxd", "web.json", "-o", "lxd.tw"], d, sections,
          "import", {1}, check=lambda j: None if any(x["code"] == "E041" for x in j["diagnostics"])
          and not (d / "lxd.tw").exists() else "no E041, or something written")
        D("simulate allow", tw, ["simulate", "--json", "ok.tw"] + ev, d, sections, "simulate", {0},
          check=lambda j: None if j["verdict"] == "allow" and j["errno"] is None else "not allowed")
        D("simulate deny", tw, ["simulate", "--json", "ok.tw", "-e", "hook=token_create", "-e", "creator=uid=5"],
          d, sections, "simulate", {0}, check=lambda j: None if j["verdict"] == "deny" and j["errno"] == "EPERM"
          else "not refused with EPERM")
        D("simulate broken policy", tw, ["simulate", "--json", "bad.tw"] + ev, d, sections, "simulate", {1},
          check=lambda j: None if j["diagnostics"] else "no diagnostics")
        D("simulate broken event", tw, ["simulate", "--json", "ok.tw", "-e", "hook=token_create", "-e", "creator=uid"],
          d, sections, "simulate", {1}, check=lambda j: None if j["diagnostics"] else "no diagnostics for the event")
        D("simulate no hook", tw, ["simulate", "--json", "ok.tw", "-e", "creator=uid=1"], d, sections, "simulate", {64})
        D("test", tw, ["test", "--json", "ok.tw"], d, sections, "test", {1},
          check=lambda j: None if (j["passed"], j["failed"]) == (1, 1) and j["results"][1]["diff"] else
          "expected 1 passed, 1 failed with a diff")
        D("load", tw, ["load", "--json", "--pin-root", str(pins / "tw"), "ok.tw"], d, sections, "load", {0, 2},
          check=lambda j: None if j["sha256"] and len(j["sha256"]) == 64 else "no sha256")
        D("load broken", tw, ["load", "--json", "--pin-root", str(pins / "tw"), "bad.tw"], d, sections, "load", {1})
        D("load wrong sha", tw, ["load", "--json", "--pin-root", str(pins / "tw"), "--expect-sha256", "00", "ok.tw"],
          d, sections, "load", {1})
        D("replace", tw, ["replace", "--json", "--pin-root", str(pins / "tw"), "ok.tw"], d, sections, "replace", {2},
          check=lambda j: None if j["errors"][0]["errno_name"] else
          "not a kernel error with its errno")
        D("unload nothing", tw, ["unload", "--json", "--pin-root", str(pins / "tw")], d, sections, "unload", {0},
          check=lambda j: None if j["unloaded"] is False else "unloaded is not false")
        D("status nothing", tw, ["status", "--json", "--pin-root", str(pins / "tw")], d, sections, "status", {0},
          check=lambda j: None if j["loaded"] is False and j["counters"] is None else "loaded is not false")
        D("status two formats", tw, ["status", "--json", "--prometheus", "--pin-root", str(pins / "tw")], d,
          sections, "status", {64})
        D("audit nothing", tw, ["audit", "--json", "--pin-root", str(pins / "tw")], d, sections, "audit", {2})
        D("doctor", tw, ["doctor", "--json"], d, sections, "doctor", {0, 3},
          check=lambda j: None if all(isinstance(p["number"], int) for p in j["probes"]
                                      if p["id"].startswith("hook.") and p["verdict"] == "ok") else
          "a hook found in the BTF has no arity as a number")
        D("delegate dry run", tw, ["delegate", "--json", "--dry-run", "--cmds", "map_create", "--maps", "array"], d,
          sections, "delegate", {0},
          check=lambda j: None if j["options"].get("delegate_cmds") == "map_create" else "no delegate_cmds option")
        D("delegate bad list", tw, ["delegate", "--json", "--dry-run", "--maps", "hsh"], d, sections, "delegate", {1})
        D("catalogue", tw, ["catalogue", "--json"], d, sections, "catalogue", {0},
          check=lambda j: None if len(j["kinds"]) == 4 and j["capabilities"] and j["map_flags"] else "not everything")
        D("catalogue 6.12 attach", tw, ["catalogue", "--json", "--target-kernel", "6.12", "attach"], d, sections,
          "catalogue", {0}, check=lambda j: None if [k["kind"] for k in j["kinds"]] == ["attach"] and not next(
              n for n in j["kinds"][0]["names"] if n["name"] == "trace_uprobe_session")["on_target"] else
          "trace_uprobe_session (6.13) is on a 6.12 target")
        D("catalogue bad target", tw, ["catalogue", "--json", "--target-kernel", "x"], d, sections, "catalogue", {64})
        D("completion", tw, ["completion", "--json", "bash"], d, sections, "completion", {0})
        D("unknown verb", tw, ["--json", "chek"], d, sections, None, {64},
          check=lambda j: None if "did you mean `check`" in j["errors"][0]["message"] else "no did-you-mean")
        D("unknown option", tw, ["check", "--json", "--bogus", "ok.tw"], d, sections, None, {64})
        stream("audit --follow", tw, ["audit", "--json", "--follow", "--pin-root", str(pins / "tw")], d, sections,
               "audit", {2}, {"error"})
        stream("agent", tw, ["agent", "--json", "--stdout", "--exit-after", "1.5", "--pin-root", str(pins / "tw")],
               d, sections, "agent", {0}, {"entry"})
    for f in FAILURES:
        print(f"FAIL: {f}")
    print(f"{len(FAILURES)} problems")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
