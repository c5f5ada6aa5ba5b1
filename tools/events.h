// SPDX-License-Identifier: Apache-2.0
// One kernel decision event (tw_event, vocab/tw_abi.h) in words, for `audit` and the
// agent: what was asked, by whom, the verdict and why.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "kernel/enforcer.h"

namespace tw::tools {

struct EventView {
  std::string time;     // "2026-12-01T22:47:00" (UTC)
  std::string time_us;  // "2026-12-01T22:47:00.123456Z"
  uint64_t realtime_us = 0;
  std::string verdict;  // allow, deny, audit
  std::string hook;     // bpf_token_create, ...
  std::string what;     // "cmd map_create", "CAP_PERFMON", "map hash", "prog xdp attach xdp", "token"
  std::string profile;  // "-" for none
  std::string comm;
  std::string reason;
  std::string err;      // "EPERM" when refused, else ""
  std::string limit;    // " (5 > 4)" when over a limit, else ""
  // "deny  bpf_token_capable CAP_PERFMON ... profile=x pid=1 comm=c uid=0 cgroup=7: why [EPERM]"
  std::string line(const tw_event& e) const;
};

// CLOCK_REALTIME minus CLOCK_MONOTONIC now: event times (bpf_ktime_get_ns) to wall clock.
uint64_t boot_to_real_ns();
EventView view_of(const tw_event& e, const std::map<uint64_t, std::string>& names, uint64_t boot_to_real);

// Where a token's creator was, found when its event is read (kernel/resolve.h): the cgroup's path
// by id (remembered, since ids are not reused) and the process's executable. Either is null when
// it is gone by then: a finished service's cgroup, an exited process.
class CreatorResolver {
 public:
  std::optional<std::string> cgroup(uint64_t id);
  std::optional<std::string> exe(uint32_t tgid);

 private:
  std::map<uint64_t, std::string> cgroups_;
};

// One event as `audit --json` prints it (docs/json.md, "event"): the words of `view_of`, and
// what the decision rested on, by name (`request`), so that `replay` and `generate` can read it
// back (compiler/event_log.h). Token creations carry their creator's cgroup path and executable.
nlohmann::json event_json(const tw_event& e, const EventView& v, CreatorResolver& creators);

}  // namespace tw::tools
