// SPDX-License-Identifier: Apache-2.0
// tokenwarden replace POLICY|ARTIFACT: switch the loaded policy to another in one step; tokens keep
// their profiles (by name), and no decision sees a half-written table.
#include <fmt/core.h>

#include "commands.h"
#include "enforce_cli.h"
#include "attempts.h"
#include "errors.h"
#include "output.h"

namespace tw::tools {
namespace {

int run(const std::string& path, const EnforceOptions& o) {
  begin_enforce_document("replace", path);
  auto tables = tables_for(path, o);
  if (!tables) return tables.exit_code();
  auto lock = lock_pin_root(o.pin_root, o.wait_s);
  if (!lock) return lock.exit_code();
  auto e = kernel::Enforcer::open(o.pin_root);
  if (!e) {
    report_error(e.error());
    report_detail("hint: is a policy loaded? `tokenwarden status`, or `tokenwarden load` first");
    return kExitSystemError;
  }
  return replace_loaded(*e, *tables, o, *lock);
}

}  // namespace

void register_replace(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("replace", "Replace the loaded policy atomically");
  cmd->footer(
      "A failure leaves the previous policy enforcing. Concurrent loads, replaces and unloads of one pin\n"
      "root take turns (--wait).\n"
      "Example:\n  tokenwarden replace examples/ci-runner.tw");
  static std::string path;
  static EnforceOptions o;
  cmd->add_option("POLICY", path, "Policy file (.tw) or compiled artifact")->required();
  add_enforce_options(cmd, o, false);
  cmd->callback([&exit_code] {
    exit_code = run(path, o);
    record_attempt(o.pin_root, "replace", path, exit_code);
  });
}

}  // namespace tw::tools
