// SPDX-License-Identifier: Apache-2.0
// tokenwarden test POLICY [CASES]: runs a policy's decision cases on the reference evaluator and
// ends with "N passed, N failed"; a failure shows what was expected, what came, and why.
#include <fmt/core.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "output.h"
#include "compiler/cases.h"
#include "policy_cli.h"

namespace tw::tools {
namespace {

struct Args {
  std::string policy, cases;
  bool verbose = false;
  PolicyOptions o;
};

int run(const Args& a) {
  begin_document("test", {"policy", "cases", "passed", "failed", "results", "diagnostics", "diagnostics_not_shown"});
  auto& doc = document();
  doc["policy"] = a.policy;
  auto loaded = load_ir(a.policy, a.o);
  if (!loaded) return loaded.exit_code();
  std::string path = a.cases;
  if (path.empty()) path = std::filesystem::path(a.policy).replace_extension(".cases").string();
  doc["cases"] = path;
  std::string error;
  auto text = read_file(path, error);
  if (!text) {
    report_error(error);
    return kExitPolicyError;
  }
  compiler::SourceSet sources;
  compiler::Diagnostics diags;
  auto cases = compiler::parse_cases(sources, sources.add(path, std::move(*text)), diags);
  report_diagnostics(diags, sources);
  if (diags.has_errors()) return kExitPolicyError;
  size_t passed = 0, failed = 0;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& c : cases) {
    auto r = compiler::run_case(loaded->ir, c);
    r.passed ? ++passed : ++failed;
    if (json_output()) {
      results.push_back({{"name", c.name},
                         {"where", sources.where(c.span)},
                         {"passed", r.passed},
                         {"diff", r.passed ? nlohmann::json(nullptr) : nlohmann::json(r.diff)},
                         {"reason", r.got.reason},
                         {"rule", r.got.rule.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.got.rule)}});
      continue;
    }
    if (r.passed) {
      if (a.verbose) fmt::print("PASS {}\n", c.name);
      continue;
    }
    fmt::print("FAIL {} ({})\n  {}\n  reason: {}\n", c.name, sources.where(c.span), r.diff, r.got.reason);
    if (!r.got.rule.empty()) fmt::print("  rule:   {}\n", r.got.rule);
  }
  doc["passed"] = passed;
  doc["failed"] = failed;
  doc["results"] = std::move(results);
  if (!json_output()) fmt::print("{} passed, {} failed\n", passed, failed);
  if (cases.empty()) report_error(fmt::format("{}: no cases", path));
  return failed || cases.empty() ? kExitPolicyError : kExitOk;
}

}  // namespace

void register_test(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("test", "Run a policy's decision cases on the reference evaluator");
  cmd->footer(
      "CASES defaults to the policy's name with .cases. Exit status: 0 all passed, 1 otherwise.\n"
      "Example:\n  tokenwarden test examples/ci-runner.tw\n  tokenwarden test -v policy.tw more.cases");
  static Args a;
  cmd->add_option("POLICY", a.policy, "Policy file (.tw) or compiled artifact")->required();
  cmd->add_option("CASES", a.cases, "Case file (default: POLICY with .cases)");
  cmd->add_flag("-v,--verbose", a.verbose, "Also list passing cases");
  add_target_option(cmd, a.o);
  cmd->callback([&exit_code] { exit_code = run(a); });
}

}  // namespace tw::tools
