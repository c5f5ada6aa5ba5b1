// SPDX-License-Identifier: Apache-2.0
// tokenwarden replay EVENTS... --policy CANDIDATE: what a candidate policy would have decided for
// recorded events, against what the kernel decided (compiler/replay.h): newly refused, newly
// allowed, per profile and rule, with counts. Run it before every `replace`.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "compiler/replay.h"
#include "output.h"
#include "policy_cli.h"

namespace tw::tools {
namespace {

struct Args {
  std::vector<std::string> events;
  std::string policy;
  bool fail_on_change = false;
  PolicyOptions o;
};

std::string_view change_words(compiler::Change c) {
  switch (c) {
    case compiler::Change::newly_refused: return "newly refused";
    case compiler::Change::newly_allowed: return "newly allowed";
    case compiler::Change::mode: return "refused in another mode";
    case compiler::Change::same: break;
  }
  return "same";
}

int run(const Args& a) {
  begin_document("replay", {"policy", "events", "same", "newly_refused", "newly_allowed", "mode", "undecidable",
                            "without_creation", "changes", "diagnostics", "diagnostics_not_shown"});
  document()["policy"] = a.policy;
  auto loaded = load_ir(a.policy, a.o);
  if (!loaded) return loaded.exit_code();
  compiler::SourceSet sources;
  compiler::Diagnostics diags;
  auto log = read_event_files(a.events, sources, diags);
  report_diagnostics(diags, sources);
  if (!log) return kExitPolicyError;
  auto r = compiler::replay(loaded->ir, *log);
  size_t n = r.events.size();
  if (json_output()) {
    auto& j = document();
    j["events"] = n;
    j["same"] = r.same;
    j["newly_refused"] = r.newly_refused;
    j["newly_allowed"] = r.newly_allowed;
    j["mode"] = r.mode;
    j["undecidable"] = r.undecidable;
    j["without_creation"] = r.without_creation;
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& c : r.changes)
      changes.push_back({{"change", compiler::change_name(c.change)},
                         {"count", c.count},
                         {"profile", c.profile.empty() ? nlohmann::json() : nlohmann::json(c.profile)},
                         {"rule", c.rule.empty() ? nlohmann::json() : nlohmann::json(c.rule)},
                         {"hook", c.hook},
                         {"what", c.what},
                         {"was", compiler::outcome_name(c.was)},
                         {"now", compiler::outcome_name(c.now)},
                         {"reason", c.reason},
                         {"first", c.first},
                         {"last", c.last}});
    j["changes"] = std::move(changes);
  } else {
    fmt::print("replay: {} event{} under policy `{}`: {} same, {} newly refused, {} newly allowed, {} refused in another mode\n",
               n, n == 1 ? "" : "s", loaded->ir.name, r.same, r.newly_refused, r.newly_allowed, r.mode);
    for (const auto& c : r.changes)
      fmt::print("  {:<13} {:>5}x  {:<18} {:<28} profile={} rule={}: {} (was {}, {} to {})\n", change_words(c.change), c.count,
                 c.hook, c.what, c.profile.empty() ? "-" : c.profile, c.rule.empty() ? "-" : c.rule, c.reason,
                 compiler::outcome_name(c.was), c.first, c.last);
    if (r.undecidable)
      fmt::print("  {} event{} not decided: the candidate's matching tests what the recorded creation does not carry "
                 "(a gone cgroup or process, a bpffs)\n",
                 r.undecidable, r.undecidable == 1 ? "" : "s");
    if (r.without_creation)
      fmt::print("  {} event{} not decided: their tokens were created before the recording\n", r.without_creation,
                 r.without_creation == 1 ? "" : "s");
  }
  if (n && !r.recorded_allowed)
    report_warning("no allowed decision was recorded: counts per token cannot be kept; record with `--log-allowed`");
  bool changed = r.newly_refused || r.newly_allowed || r.mode || r.undecidable;
  if (!a.fail_on_change || !changed) return kExitOk;
  report_error(fmt::format("the candidate decides {} of {} events otherwise than the kernel did{}", n - r.same - r.without_creation,
                           n, r.undecidable ? fmt::format(" ({} undecidable)", r.undecidable) : ""),
               "review the changes above; without --fail-on-change they are only reported");
  return kExitPolicyError;
}

}  // namespace

void register_replay(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("replay", "Run recorded events through a candidate policy and compare with the kernel's verdicts");
  cmd->footer(
      "EVENTS are what `tokenwarden audit --json` printed (the document, or `--follow` records one per line).\n"
      "Tokens are labelled again by the candidate from their creation's facts; uses are decided under that\n"
      "label. Record with the policy loaded with --log-allowed, so that allowed decisions are events too.\n"
      "Example:\n  tokenwarden audit --follow --json > events.jsonl\n"
      "  tokenwarden replay events.jsonl --policy candidate.tw --fail-on-change && tokenwarden replace candidate.tw");
  static Args a;
  cmd->add_option("EVENTS", a.events, "Recorded event files")->required();
  cmd->add_option("-p,--policy", a.policy, "The candidate policy (.tw) or compiled artifact")->required();
  cmd->add_flag("--fail-on-change", a.fail_on_change, "Exit 1 when any verdict would change, or an event cannot be decided");
  add_target_option(cmd, a.o);
  cmd->callback([&exit_code] { exit_code = run(a); });
}

}  // namespace tw::tools
