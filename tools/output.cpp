// SPDX-License-Identifier: Apache-2.0
#include "output.h"

#include <fmt/core.h>

#include <cstdio>
#include <cstring>

#include "errors.h"
#include "vocab/names.h"

namespace tw::tools {

namespace {
struct State {
  std::string verb;
  bool stream = false;
  nlohmann::json doc = nlohmann::json::object();
  nlohmann::json errors = nlohmann::json::array();
  nlohmann::json warnings = nlohmann::json::array();
  nlohmann::json notes = nlohmann::json::array();
};
State& state() {
  static State s;
  return s;
}

void add_error(std::string_view message, const kernel::Error* e, std::string_view hint) {
  if (!json_output()) {
    fmt::print(stderr, "tokenwarden: error: {}\n", message);
    if (!hint.empty()) fmt::print(stderr, "  hint: {}\n", hint);
    return;
  }
  nlohmann::json j = {{"message", message},
                      {"operation", e ? nlohmann::json(e->op) : nlohmann::json(nullptr)},
                      {"errno", e ? nlohmann::json(e->err) : nlohmann::json(nullptr)},
                      {"errno_name", e ? nlohmann::json(vocab::errno_name(e->err)) : nlohmann::json(nullptr)},
                      {"hint", hint.empty() ? nlohmann::json(nullptr) : nlohmann::json(hint)}};
  if (state().stream) stream_record("error", j);
  else state().errors.push_back(std::move(j));
}
}  // namespace

bool& json_output() {
  static bool json = false;
  return json;
}

void begin_document(std::string_view verb, std::initializer_list<std::string_view> keys) {
  state().verb = verb;
  for (auto k : keys) state().doc[std::string(k)] = nullptr;
  // Diagnostics are a list, empty until something is reported.
  if (state().doc.contains("diagnostics")) state().doc["diagnostics"] = nlohmann::json::array();
  if (state().doc.contains("diagnostics_not_shown")) state().doc["diagnostics_not_shown"] = 0;
}

nlohmann::json& document() { return state().doc; }

void begin_stream(std::string_view verb) {
  state().verb = verb;
  state().stream = true;
}

void stream_record(std::string_view kind, const nlohmann::json& record) {
  nlohmann::json line = {{"schema", kJsonSchema}, {"verb", state().verb}, {std::string(kind), record}};
  fmt::print("{}\n", dump_json(line));
  std::fflush(stdout);
}

void report_error(const kernel::Error& e) { add_error(e.message(), &e, hint_for(e)); }
void report_error(std::string_view message, std::string_view hint) { add_error(message, nullptr, hint); }

namespace {
// A warning or a note: a line on stderr, a record of a stream, or an entry of the document's list.
void add_message(std::string_view kind, nlohmann::json& list, std::string_view message) {
  if (!json_output()) fmt::print(stderr, "tokenwarden: {}: {}\n", kind, message);
  else if (state().stream) stream_record(kind, message);
  else list.push_back(message);
}
}  // namespace

void report_warning(std::string_view message) { add_message("warning", state().warnings, message); }
void report_note(std::string_view message) { add_message("note", state().notes, message); }

void report_detail(std::string_view line) {
  if (!json_output()) fmt::print(stderr, "  {}\n", line);
}

int finish(int exit_code) {
  if (!json_output() || state().stream) return exit_code;
  State& s = state();
  nlohmann::json out = {{"schema", kJsonSchema},
                        {"verb", s.verb.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.verb)},
                        {"ok", exit_code == 0},
                        {"exit_code", exit_code},
                        {"errors", s.errors},
                        {"warnings", s.warnings},
                        {"notes", s.notes}};
  for (auto& [k, v] : s.doc.items()) out[k] = v;
  fmt::print("{}\n", dump_json(out, 2));
  std::fflush(stdout);
  return exit_code;
}

}  // namespace tw::tools
