// SPDX-License-Identifier: Apache-2.0
#include "metrics.h"
#include "vocab/names.h"

#include <fmt/core.h>

namespace tw::tools {

std::string label_escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string openmetrics(const kernel::EnforcerStatus& st, const std::map<uint64_t, std::string>& names) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto profile = [&](uint64_t id) {
    if (id == 0) return std::string("-");
    auto it = names.find(id);
    return label_escape(it == names.end() ? fmt::format("{:#x}", id) : it->second);
  };
  family("tokenwarden_policy_info", "gauge", "The loaded policy (always 1).");
  out += fmt::format("tokenwarden_policy_info{{policy=\"{}\",sha256=\"{}\"}} 1\n", label_escape(st.policy_name),
                     st.policy_sha256);
  family("tokenwarden_policy_generation", "gauge", "Generation of the live policy (1 at load, one more per replace).");
  out += fmt::format("tokenwarden_policy_generation {}\n", st.generation);
  family("tokenwarden_policy_loaded_timestamp_seconds", "gauge", "When the live generation was written.");
  out += fmt::format("tokenwarden_policy_loaded_timestamp_seconds {}\n", st.loaded_at_ns / 1000000000ULL);
  family("tokenwarden_policy_complete", "gauge",
         "1 when every table of the live policy is present; 0 means every token decision is refused.");
  out += fmt::format("tokenwarden_policy_complete {}\n", st.problems.empty() ? 1 : 0);
  family("tokenwarden_decisions_total", "counter", "Decisions by profile, hook and verdict.");
  for (const auto& c : st.counters)
    for (int h = 0; h < TW_HOOK_COUNT; ++h) {
      std::string labels = fmt::format("profile=\"{}\",hook=\"{}\"", profile(c.id), vocab::hook_name(h));
      out += fmt::format("tokenwarden_decisions_total{{{},verdict=\"allow\"}} {}\n", labels, c.allowed[h]);
      out += fmt::format("tokenwarden_decisions_total{{{},verdict=\"deny\"}} {}\n", labels, c.denied[h]);
      out += fmt::format("tokenwarden_decisions_total{{{},verdict=\"audit\"}} {}\n", labels, c.audited[h]);
    }
  family("tokenwarden_tokens", "gauge", "Live tokens by profile.");
  for (const auto& c : st.counters) out += fmt::format("tokenwarden_tokens{{profile=\"{}\"}} {}\n", profile(c.id), c.live_tokens);
  family("tokenwarden_tokens_limit", "gauge", "`limit tokens` of the profiles that have one.");
  for (const auto& c : st.counters)
    if (c.tokens_limit != UINT32_MAX)
      out += fmt::format("tokenwarden_tokens_limit{{profile=\"{}\"}} {}\n", profile(c.id), c.tokens_limit);
  // Live maps and programs, and their limits, of the profiles limited per profile.
  auto objects = [&](const char* name, const char* help, auto pick) {
    family(name, "gauge", help);
    for (const auto& c : st.counters) {
      if (c.maps_limit != UINT32_MAX)
        out += fmt::format("{}{{profile=\"{}\",kind=\"map\"}} {}\n", name, profile(c.id), pick(c, true));
      if (c.progs_limit != UINT32_MAX)
        out += fmt::format("{}{{profile=\"{}\",kind=\"prog\"}} {}\n", name, profile(c.id), pick(c, false));
    }
  };
  objects("tokenwarden_objects", "Live maps and programs by profile, for profiles limited per profile.",
          [](const kernel::ProfileCounters& c, bool map) { return map ? c.live_maps : c.live_progs; });
  objects("tokenwarden_objects_limit", "`limit maps|progs N per profile` of the profiles that have one.",
          [](const kernel::ProfileCounters& c, bool map) { return int64_t{map ? c.maps_limit : c.progs_limit}; });
  family("tokenwarden_object_slots", "gauge", "Maps and programs the kernel side can count at once (creation fails closed beyond).");
  out += fmt::format("tokenwarden_object_slots {}\n", st.object_capacity);
  family("tokenwarden_object_table_full_total", "counter", "Map and program creations refused because the object table was full.");
  out += fmt::format("tokenwarden_object_table_full_total {}\n", st.stats.object_map_full);
  // `limit tokens N per uid|userns`: the creators holding tokens and the most one holds, against the limit.
  auto per_creator = [&](const char* name, const char* help, auto pick) {
    family(name, "gauge", help);
    for (const auto& c : st.counters)
      for (int by : {TW_BY_UID, TW_BY_USERNS})
        if (c.creator_limit[by] != UINT32_MAX)
          out += fmt::format("{}{{profile=\"{}\",by=\"{}\"}} {}\n", name, profile(c.id), by == TW_BY_UID ? "uid" : "userns",
                             pick(c, by));
  };
  per_creator("tokenwarden_creators", "Creators holding tokens, by profile and what they are counted by.",
              [](const kernel::ProfileCounters& c, int by) { return int64_t{c.creators[by]}; });
  per_creator("tokenwarden_creator_tokens_max", "The most live tokens one creator of the profile holds.",
              [](const kernel::ProfileCounters& c, int by) { return c.creator_most[by]; });
  per_creator("tokenwarden_creator_tokens_limit", "`limit tokens N per uid|userns` of the profiles that have one.",
              [](const kernel::ProfileCounters& c, int by) { return int64_t{c.creator_limit[by]}; });
  family("tokenwarden_creator_slots", "gauge", "Creators the kernel side can count at once (token creation fails closed beyond).");
  out += fmt::format("tokenwarden_creator_slots {}\n", st.creator_capacity);
  family("tokenwarden_creator_table_full_total", "counter", "Token creations refused because the creator table was full.");
  out += fmt::format("tokenwarden_creator_table_full_total {}\n", st.stats.creator_map_full);
  family("tokenwarden_tokens_reserve", "gauge", "`reserve tokens` of the profiles that have one.");
  for (const auto& c : st.counters)
    if (c.tokens_reserve) out += fmt::format("tokenwarden_tokens_reserve{{profile=\"{}\"}} {}\n", profile(c.id), c.tokens_reserve);
  family("tokenwarden_token_slots_reserved", "gauge", "Token table slots the profiles reserve.");
  out += fmt::format("tokenwarden_token_slots_reserved {}\n", st.tokens_reserved);
  family("tokenwarden_token_slots_shared_used", "gauge", "Shared token table slots taken.");
  out += fmt::format("tokenwarden_token_slots_shared_used {}\n", st.shared_tokens_used);
  family("tokenwarden_token_slots", "gauge", "Tokens the kernel side can remember at once (creation fails closed beyond).");
  out += fmt::format("tokenwarden_token_slots {}\n", st.token_capacity);
  family("tokenwarden_events_total", "counter", "Audit events written to the ring buffer.");
  out += fmt::format("tokenwarden_events_total {}\n", st.stats.events);
  family("tokenwarden_events_dropped_total", "counter", "Audit events dropped, by cause.");
  out += fmt::format("tokenwarden_events_dropped_total{{cause=\"ring_buffer_full\"}} {}\n", st.stats.dropped_ringbuf);
  out += fmt::format("tokenwarden_events_dropped_total{{cause=\"rate_limit\"}} {}\n", st.stats.dropped_ratelimit);
  family("tokenwarden_token_table_full_total", "counter", "Token creations refused because the token table was full.");
  out += fmt::format("tokenwarden_token_table_full_total {}\n", st.stats.token_map_full);
  family("tokenwarden_counters_lost_total", "counter",
         "Decisions not counted because the counters table was full (the verdicts stand).");
  out += fmt::format("tokenwarden_counters_lost_total {}\n", st.stats.counters_full);
  family("tokenwarden_guard_refusals_total", "counter",
         "What the guard refused to tasks outside the initial user namespace, by operation.");
  for (int g = 0; g < TW_GUARD_COUNT; ++g)
    out += fmt::format("tokenwarden_guard_refusals_total{{operation=\"{}\"}} {}\n", vocab::guard_op(g)->ident,
                       st.stats.guard[g]);
  family("tokenwarden_kernel_memory_bytes", "gauge", "Kernel memory of every map and program.");
  out += fmt::format("tokenwarden_kernel_memory_bytes {}\n", st.kernel_memory_bytes);
  return out;
}

}  // namespace tw::tools
