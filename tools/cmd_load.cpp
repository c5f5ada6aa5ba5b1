// SPDX-License-Identifier: Apache-2.0
// tokenwarden load POLICY|ARTIFACT: compile if needed, resolve paths on this host, load and
// attach the BPF LSM programs with the policy's tables, pin them under /sys/fs/bpf/tokenwarden.
#include <fmt/core.h>

#include <cerrno>

#include "commands.h"
#include "enforce_cli.h"
#include "attempts.h"
#include "errors.h"
#include "output.h"

namespace tw::tools {
namespace {

int run(const std::string& path, const EnforceOptions& o) {
  begin_enforce_document("load", path);
  auto tables = tables_for(path, o);
  if (!tables) return tables.exit_code();
  if (!kernel_can_enforce("load")) return kExitSystemError;
  auto lock = lock_pin_root(o.pin_root, o.wait_s);
  if (!lock) return lock.exit_code();
  if (o.or_replace)
    if (auto loaded = kernel::Enforcer::open(o.pin_root)) return replace_loaded(*loaded, *tables, o, *lock);
  kernel::EnforcerOptions eo;
  eo.pin_root = o.pin_root;
  eo.token_capacity = o.token_capacity;
  eo.counter_capacity = o.counter_capacity;
  eo.object_capacity = o.object_capacity;
  eo.creator_capacity = o.creator_capacity;
  eo.events_per_sec = o.events_per_sec;
  eo.log_allowed = o.log_allowed;
  auto e = kernel::Enforcer::install(*tables, eo, *lock);
  if (!e) {
    report_error(e.error());
    return e.error().op == "install" && e.error().err == EEXIST ? kExitAlreadyLoaded : kExitSystemError;
  }
  describe_policy(*tables, o.pin_root);
  if (json_output())
    if (auto st = e->status(*lock)) document()["generation"] = st->generation;
  document()["replaced"] = false;
  if (!json_output())
    fmt::print("loaded policy `{}`: {} profile{}, {} match alternative{} ({} indexed, {} scanned); pinned at {}\n",
               tables->name, tables->profiles.size(), tables->profiles.size() == 1 ? "" : "s", tables->conjs.size(),
               tables->conjs.size() == 1 ? "" : "s", tables->conjs.size() - tables->scan.size(), tables->scan.size(),
               o.pin_root);
  return kExitOk;
}

}  // namespace

void register_load(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("load", "Enforce a policy: load, attach and pin the BPF LSM programs");
  cmd->footer(
      "Exit status: 0 enforcing, 1 policy errors (or a policy file others may write, a hash other than\n"
      "--expect-sha256, no profiles without --force), 2 the kernel refused or another writer held the pin\n"
      "root past --wait (nothing is left attached or pinned), 4 a policy is already loaded there (use\n"
      "--or-replace, `replace`, or `unload` first).\n"
      "Example:\n  tokenwarden load examples/ci-runner.tw\n"
      "  tokenwarden load --expect-sha256 9f2c...e1 /etc/tokenwarden/policy.twp");
  static std::string path;
  static EnforceOptions o;
  cmd->add_option("POLICY", path, "Policy file (.tw) or compiled artifact")->required();
  add_enforce_options(cmd, o, true);
  cmd->add_flag("--or-replace", o.or_replace,
                "When a policy is already loaded, replace it atomically instead (tokenwarden.service starts with "
                "this, so that restarting or upgrading tokenwarden never leaves the host unenforced)");
  cmd->callback([&exit_code] {
    exit_code = run(path, o);
    record_attempt(o.pin_root, "load", path, exit_code);
  });
}

}  // namespace tw::tools
