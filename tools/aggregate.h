// SPDX-License-Identifier: Apache-2.0
// Repeats of one decision folded into one line with a count: the verifier asks for CAP_PERFMON
// a dozen times per program load, and a refused service retries. The first event of a kind
// (profile, hook, what was asked, verdict, reason) is passed on at once; its repeats within the
// window are counted, and a summary line says how many when the window ends. Memory is bounded:
// beyond `max_kinds` kinds at once, events are passed on one by one.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "kernel/enforcer.h"

namespace tw::tools {

struct Folded {
  tw_event first{};        // the first event of its kind in the window
  uint64_t count = 1;      // events this line stands for: 1 for the first, the repeats for a summary
  size_t processes = 1;    // distinct processes among them (counted up to kMaxProcesses)
  bool summary = false;    // the repeats after `first`, at the window's end
};

class Aggregator {
 public:
  static constexpr size_t kMaxProcesses = 64;
  Aggregator(uint64_t window_ns, size_t max_kinds) : window_ns_(window_ns), max_kinds_(max_kinds) {}
  // The event as a line now, or nothing when it repeats one already passed on in this window.
  std::optional<Folded> add(const tw_event& e, uint64_t now_ns);
  // Summaries of the windows that have ended by `now_ns` (of every window with `all`).
  std::vector<Folded> expire(uint64_t now_ns, bool all = false);
  size_t kinds() const { return open_.size(); }

 private:
  struct Kind {
    uint64_t profile;
    uint32_t hook, what, what2, verdict, reason;
    auto operator<=>(const Kind&) const = default;
  };
  struct Window {
    tw_event first;
    uint64_t started_ns = 0;
    uint64_t repeats = 0;
    std::set<uint32_t> processes;
  };
  uint64_t window_ns_;
  size_t max_kinds_;
  std::map<Kind, Window> open_;
};

}  // namespace tw::tools
