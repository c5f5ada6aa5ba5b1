// SPDX-License-Identifier: Apache-2.0
// tokenwarden generate EVENTS... --policy LEARNING: a least-privilege policy and its decision
// cases from what a workload was seen doing under a learning policy (compiler/generate.h). The
// output is compiled and its cases run before anything is written: it checks clean, or nothing is.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "compiler/cases.h"
#include "compiler/generate.h"
#include "compiler/loader.h"
#include "compiler/pipeline.h"
#include "output.h"
#include "policy_cli.h"

namespace tw::tools {
namespace {

struct Args {
  std::vector<std::string> events;
  std::string policy, output, cases;
  compiler::GenerateOptions g;
  PolicyOptions o;
};

// The generated policy and cases compiled and run in memory: "" when clean, else what is wrong.
std::string self_check(const compiler::Generated& out, const std::string& name) {
  compiler::CompileOptions co;
  co.read = [&](const std::string& path, std::string& error) -> std::optional<compiler::FileContents> {
    if (path == name) return compiler::FileContents(out.policy);
    error = "not generated";
    return std::nullopt;
  };
  auto c = compiler::compile_policy(name, co);
  std::string problems;
  for (const auto& d : c.diags.all()) problems += compiler::render_text(d, c.sources) + "\n";
  if (!c.ir) return problems.empty() ? "does not compile" : problems;
  compiler::Diagnostics diags;
  uint32_t id = c.sources.add(name + ".cases", out.cases);
  for (const auto& d : diags.all()) problems += compiler::render_text(d, c.sources) + "\n";
  for (const auto& k : compiler::parse_cases(c.sources, id, diags)) {
    auto r = compiler::run_case(*c.ir, k);
    if (!r.passed) problems += fmt::format("case [{}]: {}\n", k.name, r.diff);
  }
  for (const auto& d : diags.all()) problems += compiler::render_text(d, c.sources) + "\n";
  return problems;
}

int run(const Args& a) {
  begin_document("generate", {"policy", "events", "profiles", "output", "cases_output", "generated", "cases",
                              "diagnostics", "diagnostics_not_shown"});
  document()["policy"] = a.policy;
  auto learning = compile_and_report(a.policy, a.o, false);
  if (!learning.ir) return kExitPolicyError;
  compiler::SourceSet stmt_sources;
  compiler::Diagnostics stmt_diags;
  auto statements = compiler::load_policy(a.policy, stmt_sources, stmt_diags, compiler::filesystem_reader(max_file_bytes()));
  compiler::SourceSet sources;
  compiler::Diagnostics diags;
  auto log = read_event_files(a.events, sources, diags);
  if (!log) {
    report_diagnostics(diags, sources);
    return kExitPolicyError;
  }
  auto out = compiler::generate(statements, stmt_sources, *learning.ir, *log, a.g, diags);
  report_diagnostics(diags, sources);
  if (!out) return kExitPolicyError;
  std::string cases_path = !a.cases.empty() ? a.cases
                           : a.output.empty() || a.output == "-" ? ""
                           : (a.output.ends_with(".tw") ? a.output.substr(0, a.output.size() - 3) : a.output) + ".cases";
  std::string name = a.output.empty() || a.output == "-" ? "generated.tw" : a.output;
  if (std::string problems = self_check(*out, name); !problems.empty()) {
    report_error("the generated policy does not check clean (a bug of `generate`; nothing was written):\n" + problems);
    return kExitSystemError;
  }
  auto& j = document();
  j["events"] = out->events;
  j["profiles"] = out->profiles;
  j["output"] = a.output.empty() || a.output == "-" ? nlohmann::json() : nlohmann::json(a.output);
  j["cases_output"] = cases_path.empty() ? nlohmann::json() : nlohmann::json(cases_path);
  if (json_output()) {
    j["generated"] = out->policy;
    j["cases"] = out->cases;
  }
  if (a.output.empty() || a.output == "-") {
    if (!json_output()) fmt::print("{}", out->policy);
    return kExitOk;
  }
  std::string error;
  if (!write_file(a.output, out->policy, error) || !write_file(cases_path, out->cases, error)) {
    report_error(fmt::format("cannot write `{}`: {}", error.find(cases_path) != std::string::npos ? cases_path : a.output, error));
    return kExitSystemError;
  }
  if (!json_output())
    fmt::print(stderr, "wrote {} ({} profile{}) and {}, from {} events\n", a.output, out->profiles, out->profiles == 1 ? "" : "s",
               cases_path, out->events);
  return kExitOk;
}

}  // namespace

void register_generate(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("generate", "Write a least-privilege policy and its cases from events recorded under a learning policy");
  cmd->footer(
      "The learning policy has a profile in `mode audit` for the workload, loaded with --log-allowed; EVENTS\n"
      "are what `tokenwarden audit --json` printed meanwhile. Each generated profile keeps the learning\n"
      "profile's match and grants what was used, with limits at the observed maxima plus the headroom.\n"
      "CAP_PERFMON asked only by the verifier (a refusal fails no load) is not granted (--grant-verifier-caps).\n"
      "The output is compiled and its cases run before it is written.\n"
      "Example:\n  tokenwarden replace --log-allowed learn.tw && run-the-workload && tokenwarden audit --json > events.json\n"
      "  tokenwarden generate events.json --policy learn.tw -o flowlogd.tw   # and flowlogd.cases");
  static Args a;
  cmd->add_option("EVENTS", a.events, "Recorded event files")->required();
  cmd->add_option("-p,--policy", a.policy, "The learning policy (.tw) the events were recorded under")->required();
  cmd->add_option("-o,--output", a.output, "Write the policy here (default: standard output)");
  cmd->add_option("--cases", a.cases, "Write the cases here (default: beside --output, as NAME.cases)");
  cmd->add_option("--headroom", a.g.headroom_percent, "Percent above the observed maxima for limits (default 25)")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--name", a.g.policy_name, "The generated policy's name (default: the learning policy's, with -learned)");
  cmd->add_flag("--grant-verifier-caps", a.g.grant_verifier_caps,
                "Grant CAP_PERFMON when only the verifier asked it");
  add_target_option(cmd, a.o);
  cmd->callback([&exit_code] { exit_code = run(a); });
}

}  // namespace tw::tools
