// SPDX-License-Identifier: Apache-2.0
// tokenwarden explain POLICY|ARTIFACT: what each hook will decide, per profile, in words.
#include <fmt/core.h>

#include "commands.h"
#include "output.h"
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
    begin_document("explain", {"policy", "sha256", "explanation", "diagnostics", "diagnostics_not_shown"});
    document()["policy"] = path;
    auto loaded = load_ir(path, o);
    if (!loaded) {
      exit_code = loaded.exit_code();
      return;
    }
    std::string text = compiler::explain(loaded->ir);
    if (json_output()) {
      document()["sha256"] = compiler::hex(loaded->digest);
      document()["explanation"] = text;
    } else {
      fmt::print("{}", text);
    }
    exit_code = kExitOk;
  });
}

}  // namespace tw::tools
