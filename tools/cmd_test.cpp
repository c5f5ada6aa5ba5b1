// SPDX-License-Identifier: Apache-2.0
// tokenwarden test POLICY [CASES]: runs a policy's decision cases on the reference evaluator and
// ends with "N passed, N failed"; a failure shows what was expected, what came, and why.
#include <fmt/core.h>

#include <filesystem>

#include "commands.h"
#include "compiler/cases.h"
#include "policy_cli.h"

namespace tw::tools {
namespace {

struct Args {
  std::string policy, cases;
  bool verbose = false;
  PolicyOptions o;
};

int run(const Args& a, int& exit_code) {
  auto ir = load_ir(a.policy, a.o, exit_code);
  if (!ir) return exit_code;
  std::string path = a.cases;
  if (path.empty()) path = std::filesystem::path(a.policy).replace_extension(".cases").string();
  std::string error;
  auto text = read_file(path, error);
  if (!text) {
    fmt::print(stderr, "tokenwarden: error: {}\n", error);
    return kExitPolicyError;
  }
  compiler::SourceSet sources;
  compiler::Diagnostics diags;
  auto cases = compiler::parse_cases(sources, sources.add(path, std::move(*text)), diags);
  for (const auto& d : diags.all()) fmt::print(stderr, "{}", compiler::render_text(d, sources));
  if (diags.has_errors()) return kExitPolicyError;
  size_t passed = 0, failed = 0;
  for (const auto& c : cases) {
    auto r = compiler::run_case(*ir, c);
    if (r.passed) {
      ++passed;
      if (a.verbose) fmt::print("PASS {}\n", c.name);
      continue;
    }
    ++failed;
    fmt::print("FAIL {} ({})\n  {}\n  reason: {}\n", c.name, sources.where(c.span), r.diff, r.got.reason);
    if (!r.got.rule.empty()) fmt::print("  rule:   {}\n", r.got.rule);
  }
  fmt::print("{} passed, {} failed\n", passed, failed);
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
  cmd->callback([&exit_code] { exit_code = run(a, exit_code); });
}

}  // namespace tw::tools
