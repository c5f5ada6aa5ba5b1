// tokenwarden check POLICY...: every diagnostic of every policy; exit 0 when none has errors.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "compiler/ir_io.h"
#include "policy_cli.h"

namespace tw::tools {
namespace {

int run(const std::vector<std::string>& paths, const PolicyOptions& o) {
  bool errors = false;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& path : paths) {
    auto c = compile_and_report(path, o, true);
    errors |= c.diags.has_errors();
    if (o.json) {
      all.push_back({{"policy", path},
                     {"ok", !c.diags.has_errors()},
                     {"errors", c.diags.error_count()},
                     {"warnings", c.diags.warning_count()},
                     {"diagnostics", nlohmann::json::parse(compiler::render_json(c.diags.all(), c.sources))}});
    } else if (!c.diags.has_errors() && c.diags.all().empty()) {
      fmt::print("{}: ok ({} profile{})\n", path, c.ir->profiles.size(), c.ir->profiles.size() == 1 ? "" : "s");
    }
  }
  if (o.json) fmt::print("{}\n", compiler::dump_json(all, 2));
  return errors ? kExitPolicyError : kExitOk;
}

}  // namespace

void register_check(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("check", "Check policies and report every error and warning");
  cmd->footer(
      "Exit status: 0 no errors (warnings allowed), 1 errors.\n"
      "Example:\n  tokenwarden check examples/ci-runner.tw\n"
      "  tokenwarden check --target-kernel 6.12 --json policy.tw");
  static std::vector<std::string> paths;
  static PolicyOptions o;
  cmd->add_option("POLICY", paths, "Policy files (.tw)")->required();
  cmd->add_flag("--json", o.json, "Diagnostics as JSON on stdout");
  add_target_option(cmd, o);
  cmd->callback([&exit_code] { exit_code = run(paths, o); });
}

}  // namespace tw::tools
