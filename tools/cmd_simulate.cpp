// SPDX-License-Identifier: Apache-2.0
// tokenwarden simulate POLICY --event FIELD=VALUE...: one decision of the reference evaluator,
// with the deciding profile, rule and reason. Fields are those of a case file (docs/cases.md).
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <map>

#include "commands.h"
#include "output.h"
#include "compiler/cases.h"
#include "compiler/diagnostics.h"
#include "compiler/ir_io.h"
#include "kernel/result.h"
#include "policy_cli.h"
#include "vocab/names.h"
#include "compiler/json_text.h"

namespace tw::tools {
namespace {

struct Args {
  std::string policy;
  std::vector<std::string> fields;
  PolicyOptions o;
};

// What a case file would accept but an event must not have: no FIELD=VALUE shape, `expect`
// (simulate decides; cases expect), a field given twice (the last would win silently), no hook
// (it would default silently). "" when the fields are fine.
std::string event_problem(const std::vector<std::string>& fields) {
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string& f = fields[i];
    size_t eq = f.find('=');
    std::string key = eq == std::string::npos ? "" : f.substr(0, eq);
    key.erase(0, key.find_first_not_of(" \t"));
    key.erase(key.find_last_not_of(" \t") + 1);
    std::string where = fmt::format("-e #{} `{}`", i + 1, compiler::escape_text(f));
    if (key.empty()) return where + ": expected FIELD=VALUE (hook, creator, token, cmd, cap, map, prog, ...)";
    if (key == "expect") return where + ": simulate says what the policy decides; `expect` belongs in a case file (`tokenwarden test`)";
    // creator, token, map and prog hold KEY=VALUE lists that add up over several -e.
    bool adds_up = key == "creator" || key == "token" || key == "map" || key == "prog";
    if (auto it = seen.find(key); it != seen.end() && !adds_up)
      return fmt::format("{}: `{}` is already given by -e #{}", where, key, it->second + 1);
    seen.emplace(key, i);
  }
  if (!seen.count("hook")) return "no -e hook=...: which hook to decide (token_create, token_cmd, token_capable, map_create, prog_load)";
  return "";
}

int run(const Args& a) {
  begin_document("simulate", {"policy", "hook", "verdict", "profile", "rule", "reason", "errno", "diagnostics",
                              "diagnostics_not_shown"});
  document()["policy"] = a.policy;
  if (std::string problem = event_problem(a.fields); !problem.empty()) {
    report_error(problem, "`tokenwarden simulate --help` shows an event");
    return kExitUsage;
  }
  auto loaded = load_ir(a.policy, a.o);
  if (!loaded) return loaded.exit_code();
  const compiler::Ir* ir = &loaded->ir;
  // The event is a one-case case file, so that errors point into what was typed.
  std::string text = "[simulate]\n";
  for (const auto& f : a.fields) text += f + "\n";
  text += "expect = allow\n";
  compiler::SourceSet sources;
  compiler::Diagnostics diags;
  uint32_t id = sources.add("<--event>", text);
  auto cases = compiler::parse_cases(sources, id, diags);
  report_diagnostics(diags, sources);
  if (diags.has_errors() || cases.size() != 1) return kExitPolicyError;
  compiler::Decision d = compiler::evaluate(*ir, cases[0].event);
  if (json_output()) {
    auto& j = document();
    j["hook"] = compiler::hook_name(cases[0].event.hook);
    j["verdict"] = compiler::outcome_name(d.outcome);
    j["profile"] = d.profile.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.profile);
    j["rule"] = d.rule.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.rule);
    j["reason"] = d.reason;
    j["errno"] = d.err && d.outcome != compiler::Outcome::allow ? nlohmann::json(vocab::errno_name(d.err))
                                                                : nlohmann::json(nullptr);
  } else {
    fmt::print("{}: {}{}\n", compiler::hook_name(cases[0].event.hook), compiler::outcome_name(d.outcome),
               d.err && d.outcome == compiler::Outcome::deny ? " (" + vocab::errno_name(d.err) + ")" : "");
    fmt::print("  profile: {}\n", d.profile.empty() ? "(none)" : d.profile);
    if (!d.rule.empty()) fmt::print("  rule:    {}\n", d.rule);
    fmt::print("  reason:  {}\n", d.reason);
  }
  return kExitOk;
}

}  // namespace

void register_simulate(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("simulate", "Decide one hook call with the reference evaluator");
  cmd->footer(
      "Fields are the lines of a case file (see docs/policy-language.md, \"Decision cases\").\n"
      "Example:\n  tokenwarden simulate examples/ci-runner.tw -e hook=map_create \\\n"
      "    -e 'creator=uid=1500 cgroup=/system.slice/gitlab-runner.service' \\\n"
      "    -e 'token=cmds=map_create,prog_load maps=array' -e 'map=type=array max_entries=64'");
  static Args a;
  cmd->add_option("POLICY", a.policy, "Policy file (.tw) or compiled artifact")->required();
  cmd->add_option("-e,--event", a.fields, "FIELD=VALUE of the event (repeat)")->required();
  add_target_option(cmd, a.o);
  cmd->callback([&exit_code] { exit_code = run(a); });
}

}  // namespace tw::tools
