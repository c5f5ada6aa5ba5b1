// SPDX-License-Identifier: Apache-2.0
// One output layer for every verb. In text, results go to stdout and errors, warnings and notes
// to stderr, as they always did. Under `--json` (accepted by every verb, before or after it),
// stdout carries exactly one JSON document per run and stderr stays quiet; docs/json.md gives
// each verb's shape. Every document has the same frame:
//   {"schema": 1, "verb": "load", "ok": false, "exit_code": 2,
//    "errors": [{"message", "operation", "errno", "errno_name", "hint"}], "warnings": [...], "notes": [...],
//    ...the verb's own keys, each present from the start (null until the verb fills it)}
// so that a failed run still has every key, and an error is an object, as bpftool's are.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "compiler/json_text.h"
#include "kernel/result.h"

namespace tw::tools {

inline constexpr int kJsonSchema = 1;

// The global --json.
bool& json_output();

// The verb that runs, and its own keys, null until it fills them (docs/json.md lists them).
void begin_document(std::string_view verb, std::initializer_list<std::string_view> keys);
// The verb's keys (JSON only; text output ignores them).
nlohmann::json& document();
// A verb that runs until stopped (audit --follow, agent) prints JSON Lines instead of one
// document: each record {"schema", "verb", KIND: {...}} as it happens, errors as records of kind
// "error", and no document at the end.
void begin_stream(std::string_view verb);
void stream_record(std::string_view kind, const nlohmann::json& record);

// An error: in text "tokenwarden: error: ...\n  hint: ..." on stderr; under --json, one entry
// of "errors". A kernel error carries its operation and errno; its hint comes from errors.cpp.
void report_error(const kernel::Error& e);
void report_error(std::string_view message, std::string_view hint = {});
// "tokenwarden: warning: ..." and "tokenwarden: note: ..." (or "warnings" and "notes").
void report_warning(std::string_view message);
void report_note(std::string_view message);
// Lines that belong to the last error, in text only (the blockers under "kernel cannot enforce").
void report_detail(std::string_view line);

// Ends the run: under --json prints the document with `exit_code`; returns `exit_code`.
int finish(int exit_code);

}  // namespace tw::tools
