// SPDX-License-Identifier: Apache-2.0
// tokenwarden unload: detach the programs and unpin everything.
#include <fmt/core.h>

#include <cerrno>

#include "commands.h"
#include "enforce_cli.h"
#include "errors.h"
#include "output.h"
#include "kernel/enforcer.h"

namespace tw::tools {

void register_unload(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("unload", "Stop enforcing: detach the programs and unpin everything");
  cmd->footer(
      "Exit status: 0 unloaded, or nothing was loaded; 2 the kernel refused, or another writer held the pin\n"
      "root past --wait.\n"
      "Example:\n  tokenwarden unload");
  static std::string root = kernel::kPinRoot;
  static double wait_s = 30;
  add_pin_root_option(cmd, root);
  add_wait_option(cmd, wait_s);
  cmd->callback([&exit_code] {
    begin_document("unload", {"pin_root", "unloaded"});
    document()["pin_root"] = root;
    auto lock = lock_pin_root(root, wait_s);
    if (!lock) {
      exit_code = lock.exit_code();
      return;
    }
    if (auto s = kernel::Enforcer::remove(*lock); !s) {
      // Like stopping a stopped unit: the state asked for is already there.
      if (s.error().err == ENOENT) {
        document()["unloaded"] = false;
        if (!json_output()) fmt::print("nothing is loaded at {}: nothing to unload\n", root);
        exit_code = kExitOk;
        return;
      }
      report_error(s.error());
      exit_code = kExitSystemError;
      return;
    }
    document()["unloaded"] = true;
    if (!json_output()) fmt::print("unloaded: nothing is enforced; {} removed\n", root);
    exit_code = kExitOk;
  });
}

}  // namespace tw::tools
