// SPDX-License-Identifier: Apache-2.0
// tokenwarden status [--json|--prometheus]: the loaded policy (name, hash, generation, load
// time), per-profile counters per hook and live tokens, audit drops, kernel memory.
#include <fmt/chrono.h>
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "attempts.h"
#include "commands.h"
#include "enforce_cli.h"
#include "compiler/ir_io.h"
#include "errors.h"
#include "output.h"
#include "kernel/enforcer.h"
#include "metrics.h"
#include "vocab/names.h"
#include "compiler/json_text.h"

namespace tw::tools {
namespace {

// {"directory": bool, "objects": N, "refused": {"map_fd": N, ...}} (docs/json.md).
nlohmann::json guard_json(const kernel::EnforcerStatus& st) {
  nlohmann::json refused = nlohmann::json::object();
  for (int g = 0; g < TW_GUARD_COUNT; ++g) refused[std::string(vocab::guard_op(g)->ident)] = st.stats.guard[g];
  return {{"directory", st.guard_dir_set}, {"objects", st.guarded_ids}, {"refused", refused}};
}

// A profile's limit, null when it has none.
nlohmann::json limit_json(uint32_t limit) { return limit == UINT32_MAX ? nlohmann::json() : nlohmann::json(limit); }

int run(const std::string& root, bool prometheus, double wait_s) {
  const bool json = json_output();
  // Every key of `status --json` (docs/json.md); null when nothing is loaded.
  begin_document("status", {"pin_root", "loaded", "policy", "sha256", "generation", "loaded_at", "profiles",
                            "alternatives", "tokens", "token_capacity", "tokens_reserved", "shared_tokens_used", "objects", "object_capacity", "object_table_full", "creators", "creator_capacity", "creator_table_full", "decisions", "events", "dropped_ringbuf",
                            "dropped_ratelimit", "token_table_full", "counters_lost", "guard", "kernel_memory_bytes", "complete", "problems",
                            "failed_attempt", "counters"});
  document()["pin_root"] = root;
  document()["loaded"] = false;
  if (prometheus && json) {
    report_error("--prometheus and --json are two formats: choose one");
    return kExitUsage;
  }
  auto lock = lock_pin_root(root, wait_s);
  if (!lock) return lock.exit_code();
  if (!kernel::Enforcer::installed(root)) {
    if (!json) fmt::print("no policy is loaded ({} does not exist)\n", root);
    return kExitOk;
  }
  auto e = kernel::Enforcer::open(root);
  if (!e) {
    report_error(e.error());
    return kExitSystemError;
  }
  auto st = e->status(*lock);
  if (!st) {
    report_error(st.error());
    return kExitSystemError;
  }
  const auto& names = st->profile_names;
  if (prometheus) {
    fmt::print("{}", openmetrics(*st, names));
    return st->problems.empty() ? kExitOk : kExitSystemError;
  }
  auto name_of = [&](uint64_t id) {
    if (id == 0) return std::string("(no profile)");
    auto it = names.find(id);
    return it == names.end() ? fmt::format("(removed {:#x})", id) : it->second;
  };
  std::time_t loaded = static_cast<std::time_t>(st->loaded_at_ns / 1000000000ULL);
  // A load or replace that failed after this generation was written: the policy shown is the
  // one still enforcing.
  auto attempt = last_attempt(root);
  bool failed_since = attempt && attempt->exit_code != kExitOk && attempt->at_s >= static_cast<uint64_t>(loaded);
  if (json) {
    nlohmann::json& j = document();
    j.update({{"loaded", st->loaded},
                        {"policy", st->policy_name},
                        {"sha256", st->policy_sha256},
                        {"generation", st->generation},
                        {"loaded_at", fmt::format("{:%FT%TZ}", fmt::gmtime(loaded))},
                        {"profiles", st->profiles},
                        {"alternatives", st->alternatives},
                        {"tokens", st->tokens},
                        {"token_capacity", st->token_capacity},
                        {"tokens_reserved", st->tokens_reserved},
                        {"shared_tokens_used", st->shared_tokens_used},
                        {"objects", st->objects},
                        {"object_capacity", st->object_capacity},
                        {"object_table_full", st->stats.object_map_full},
                        {"creators", st->creators},
                        {"creator_capacity", st->creator_capacity},
                        {"creator_table_full", st->stats.creator_map_full},
                        {"decisions", st->decisions},
                        {"events", st->stats.events},
                        {"dropped_ringbuf", st->stats.dropped_ringbuf},
                        {"dropped_ratelimit", st->stats.dropped_ratelimit},
                        {"token_table_full", st->stats.token_map_full},
                        {"counters_lost", st->stats.counters_full},
                        {"guard", guard_json(*st)},
                        {"kernel_memory_bytes", st->kernel_memory_bytes},
                        {"complete", st->problems.empty()},
                        {"problems", st->problems}});
    if (failed_since)
      j["failed_attempt"] = {{"verb", attempt->verb}, {"policy", attempt->policy}, {"exit", attempt->exit_code},
                             {"time", fmt::format("{:%FT%TZ}", fmt::gmtime(static_cast<std::time_t>(attempt->at_s)))}};
    j["counters"] = nlohmann::json::array();
    for (const auto& c : st->counters) {
      nlohmann::json h = nlohmann::json::object();
      for (int k = 0; k < TW_HOOK_COUNT; ++k)
        h[vocab::hook_name(k)] = {{"allowed", c.allowed[k]}, {"denied", c.denied[k]}, {"audited", c.audited[k]}};
      j["counters"].push_back({{"profile", name_of(c.id)}, {"id", fmt::format("{:#x}", c.id)}, {"live_tokens", c.live_tokens},
                                {"tokens_limit", limit_json(c.tokens_limit)},
                                {"tokens_reserve", c.tokens_reserve}, {"reserved_tokens_live", c.live_reserved},
                                {"live_maps", c.live_maps}, {"maps_limit", limit_json(c.maps_limit)},
                                {"live_progs", c.live_progs}, {"progs_limit", limit_json(c.progs_limit)},
                                {"uid_tokens_limit", limit_json(c.creator_limit[TW_BY_UID])},
                                {"uids", c.creators[TW_BY_UID]}, {"most_uid_tokens", c.creator_most[TW_BY_UID]},
                                {"userns_tokens_limit", limit_json(c.creator_limit[TW_BY_USERNS])},
                                {"userns", c.creators[TW_BY_USERNS]}, {"most_userns_tokens", c.creator_most[TW_BY_USERNS]},
                                {"hooks", h}});
    }
    if (!st->problems.empty())
      report_error(fmt::format("the live policy at {} is incomplete ({} problem{})", root, st->problems.size(),
                               st->problems.size() == 1 ? "" : "s"),
                   "`tokenwarden replace POLICY` writes a complete generation, or `tokenwarden unload`");
    return st->problems.empty() ? kExitOk : kExitSystemError;
  }
  if (!st->problems.empty()) {
    // Loud, first, and on both streams: an operator must not read the counters below as health.
    fmt::print("WARNING: the live policy is INCOMPLETE; every token decision that needs it is refused:\n");
    for (const auto& p : st->problems) fmt::print("  - {}\n", p);
    fmt::print("  fix: `tokenwarden replace POLICY` writes a complete generation, or `tokenwarden unload`\n\n");
    fmt::print(stderr, "tokenwarden status: error: the live policy at {} is incomplete ({} problem{})\n", root,
               st->problems.size(), st->problems.size() == 1 ? "" : "s");
  }
  fmt::print("policy `{}` generation {}, loaded {:%F %T} UTC\n  sha256 {}\n", st->policy_name, st->generation,
             fmt::gmtime(loaded), st->policy_sha256);
  if (failed_since)
    fmt::print("  last attempt: {} {} at {:%F %T} UTC {}; generation {} is still enforcing\n", attempt->verb,
               attempt->policy, fmt::gmtime(static_cast<std::time_t>(attempt->at_s)), attempt_outcome(attempt->exit_code),
               st->generation);
  fmt::print("  {} profile{}, {} match alternative{}; {} of {} token slots used; kernel memory {:.1f} MiB\n", st->profiles,
             st->profiles == 1 ? "" : "s", st->alternatives, st->alternatives == 1 ? "" : "s", st->tokens,
             st->token_capacity, static_cast<double>(st->kernel_memory_bytes) / 1048576.0);
  fmt::print("  {} decisions, {} audit events, dropped: {} (ring buffer full) {} (rate limit); token table full {} times\n",
             st->decisions, st->stats.events, st->stats.dropped_ringbuf, st->stats.dropped_ratelimit,
             st->stats.token_map_full);
  if (st->stats.counters_full)
    fmt::print("  WARNING: {} decisions were not counted: the counters table is full (--counter-capacity)\n",
               st->stats.counters_full);
  if (st->tokens_reserved)
    fmt::print("  token slots: {} reserved by profiles; {} of the {} shared slots used\n", st->tokens_reserved,
               st->shared_tokens_used, st->token_capacity - st->tokens_reserved);
  if (st->objects || st->stats.object_map_full)
    fmt::print("  {} of {} object slots used (maps and programs of profiles limited per profile); object table full {} times\n",
               st->objects, st->object_capacity, st->stats.object_map_full);
  if (st->creators || st->stats.creator_map_full)
    fmt::print("  {} of {} creator slots used (uids and user namespaces of profiles limited per creator); creator table full {} times\n",
               st->creators, st->creator_capacity, st->stats.creator_map_full);
  uint64_t refused = 0;
  std::string by_op;
  for (int g = 0; g < TW_GUARD_COUNT; ++g)
    if (st->stats.guard[g]) {
      refused += st->stats.guard[g];
      by_op += fmt::format("{}{} {}", by_op.empty() ? "" : ", ", vocab::guard_op(g)->ident, st->stats.guard[g]);
    }
  fmt::print("  guard: {} objects and {} pin directory kept from other user namespaces; {} refused{}\n",
             st->guarded_ids, st->guard_dir_set ? "the" : "NO", refused, by_op.empty() ? "" : " (" + by_op + ")");
  fmt::print("\n{:<24} {:>11}  {:>22} {:>22} {:>22} {:>22} {:>22}\n", "profile", "tokens", "token_create a/d/au",
             "token_cmd a/d/au", "token_capable a/d/au", "map_create a/d/au", "prog_load a/d/au");
  for (const auto& c : st->counters) {
    // Live tokens, and against the profile's `limit tokens` when it has one: "3/5".
    std::string tokens =
        c.tokens_limit == UINT32_MAX ? std::to_string(c.live_tokens) : fmt::format("{}/{}", c.live_tokens, c.tokens_limit);
    if (c.tokens_reserve) tokens += fmt::format(" r{}", c.tokens_reserve);  // its reserved slots
    fmt::print("{:<24} {:>11} ", name_of(c.id), tokens);
    for (int k = 0; k < TW_HOOK_COUNT; ++k) fmt::print(" {:>22}", fmt::format("{}/{}/{}", c.allowed[k], c.denied[k], c.audited[k]));
    fmt::print("\n");
  }
  // Live maps and programs of the profiles limited per profile, against those limits.
  for (const auto& c : st->counters) {
    std::string held;
    if (c.maps_limit != UINT32_MAX) held += fmt::format("maps {}/{}", c.live_maps, c.maps_limit);
    if (c.progs_limit != UINT32_MAX) held += fmt::format("{}programs {}/{}", held.empty() ? "" : ", ", c.live_progs, c.progs_limit);
    // The most tokens one creator holds, against `limit tokens N per uid|userns`: "most 2/2 of 3 uids".
    for (int by : {TW_BY_UID, TW_BY_USERNS})
      if (c.creator_limit[by] != UINT32_MAX)
        held += fmt::format("{}tokens per {} most {}/{} of {} {}", held.empty() ? "" : ", ", by == TW_BY_UID ? "uid" : "userns",
                            c.creator_most[by], c.creator_limit[by], c.creators[by],
                            by == TW_BY_UID ? (c.creators[by] == 1 ? "uid" : "uids") : "user namespaces");
    if (!held.empty()) fmt::print("{:<24} live {}\n", name_of(c.id), held);
  }
  return st->problems.empty() ? kExitOk : kExitSystemError;
}

}  // namespace

void register_status(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("status", "Show the loaded policy, its counters and the kernel memory it uses");
  cmd->footer(
      "Exit status: 0 (also when nothing is loaded), 2 when the live policy is incomplete (the programs then\n"
      "refuse every token decision) or the pin root stayed locked past --wait.\n"
      "Example:\n  tokenwarden status\n  tokenwarden status --json | jq .counters\n"
      "  tokenwarden status --prometheus > /var/lib/prometheus/node-exporter/tokenwarden.prom");
  static std::string root = kernel::kPinRoot;
  static bool prometheus = false;
  static double wait_s = 30;
  add_pin_root_option(cmd, root);
  cmd->add_flag("--prometheus", prometheus, "The counters in Prometheus text format (what the agent's --metrics writes)");
  add_wait_option(cmd, wait_s);
  cmd->callback([&exit_code] { exit_code = run(root, prometheus, wait_s); });
}

}  // namespace tw::tools
