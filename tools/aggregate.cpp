// SPDX-License-Identifier: Apache-2.0
#include "aggregate.h"

namespace tw::tools {

std::optional<Folded> Aggregator::add(const tw_event& e, uint64_t now_ns) {
  Kind k{e.profile_id, e.hook, e.what, e.what2, e.verdict, e.reason};
  auto it = open_.find(k);
  if (it != open_.end()) {
    Window& w = it->second;
    ++w.repeats;
    if (w.processes.size() < kMaxProcesses) w.processes.insert(e.tgid);
    return std::nullopt;
  }
  if (open_.size() < max_kinds_) {
    Window w{e, now_ns, 0, {}};
    w.processes.insert(e.tgid);
    open_.emplace(k, std::move(w));
  }
  return Folded{e, 1, 1, false};
}

std::vector<Folded> Aggregator::expire(uint64_t now_ns, bool all) {
  std::vector<Folded> out;
  for (auto it = open_.begin(); it != open_.end();) {
    const Window& w = it->second;
    if (!all && now_ns - w.started_ns < window_ns_) {
      ++it;
      continue;
    }
    if (w.repeats) out.push_back({w.first, w.repeats, w.processes.size(), true});
    it = open_.erase(it);
  }
  return out;
}

}  // namespace tw::tools
