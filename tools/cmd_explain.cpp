// SPDX-License-Identifier: Apache-2.0
// tokenwarden explain POLICY|ARTIFACT: what each hook will decide, per profile, in words.
#include <fmt/core.h>

#include "commands.h"
#include "compiler/explain.h"
#include "policy_cli.h"

namespace tw::tools {

void register_explain(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("explain", "Say what a policy or artifact decides, hook by hook and profile by profile");
  cmd->footer("Example:\n  tokenwarden explain examples/networking-agent.tw\n  tokenwarden explain ci-runner.twp");
  static std::string path;
  static PolicyOptions o;
  cmd->add_option("POLICY", path, "Policy file (.tw) or compiled artifact")->required();
  add_target_option(cmd, o);
  cmd->callback([&exit_code] {
    auto ir = load_ir(path, o, exit_code);
    if (!ir) return;
    fmt::print("{}", compiler::explain(*ir));
    exit_code = kExitOk;
  });
}

}  // namespace tw::tools
