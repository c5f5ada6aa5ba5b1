// tokenwarden unload: detach the programs and unpin everything.
#include <fmt/core.h>

#include "commands.h"
#include "errors.h"
#include "kernel/enforcer.h"

namespace tw::tools {

void register_unload(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("unload", "Stop enforcing: detach the programs and unpin everything");
  cmd->footer("Example:\n  tokenwarden unload");
  static std::string root = kernel::kPinRoot;
  cmd->add_option("--pin-root", root, "Where the programs and maps are pinned")->capture_default_str();
  cmd->callback([&exit_code] {
    if (auto s = kernel::Enforcer::remove(root); !s) {
      report_error(s.error());
      exit_code = kExitSystemError;
      return;
    }
    fmt::print("unloaded: nothing is enforced; {} removed\n", root);
    exit_code = kExitOk;
  });
}

}  // namespace tw::tools
