// SPDX-License-Identifier: Apache-2.0
// Recorded decision events read back: what `audit --json` prints (the document, or one record
// per line from `audit --follow --json`, or bare event objects one per line, as `jq -c
// '.events[]'` writes them), as inputs of the reference evaluator with the kernel's verdict, for
// `replay` and `generate`. docs/json.md ("event") is the format. A line that is not such an event
// is an error (E042) at its line; a file with errors yields nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "evaluator.h"
#include "source.h"

namespace tw::compiler {

struct RecordedEvent {
  Span span;      // its line (for the document form, the document's first line)
  Event event;    // the evaluator's input; counts are left to the reader (replay keeps them)
  Outcome verdict = Outcome::allow;  // what the kernel decided
  std::string profile;               // the deciding profile then, "" for none
  std::string time;                  // "2026-12-04T02:00:00.123456Z"
  std::string reason;
  uint64_t token = 0;                // the token's identity in the kernel (its address)
  uint32_t tid = 0, tgid = 0;        // the asking thread, its process
  uint64_t value = 0, limit = 0;     // over a limit: the value and the limit, else 0
  // token_create: the creator's cgroup and executable were still there when the event was read.
  bool cgroup_known = false, exe_known = false;
};

struct EventLog {
  std::vector<RecordedEvent> events;  // in the order recorded
  size_t other_records = 0;           // the stream's non-event records, the guard's events
};

std::optional<EventLog> read_event_log(const SourceSet& sources, uint32_t file, Diagnostics& diags);

}  // namespace tw::compiler
