// SPDX-License-Identifier: Apache-2.0
// tokenwarden check POLICY...: every diagnostic of every policy; exit 0 when none has errors.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "output.h"
#include "compiler/ir_io.h"
#include "enforce_cli.h"
#include "policy_cli.h"
#include "compiler/json_text.h"

namespace tw::tools {
namespace {

// With --target-kernel running: what `load` would say about the policy's paths on this host (a
// directory named as an executable, a cgroup that does not exist yet).
struct HostNotes {
  std::vector<std::string> warnings, notes;
};
HostNotes host_notes(const compiler::Ir& ir) {
  auto hasher = kernel::PathHasher::random();
  compiler::BpfBackendError error;
  auto tables = compiler::lower_to_bpf(ir, host_resolver(hasher), error);
  if (!tables) return {{"the BPF LSM backend cannot hold this policy: " + error.message}, {}};
  return {tables->notes, tables->infos};
}

int run(const std::vector<std::string>& paths, const PolicyOptions& o) {
  begin_document("check", {"policies", "diagnostics", "diagnostics_not_shown"});
  bool errors = false;
  nlohmann::json policies = nlohmann::json::array();
  for (const auto& path : paths) {
    auto c = compile_and_report(path, o, true);
    errors |= c.diags.has_errors();
    HostNotes host;
    if (c.ir && o.target_kernel == "running") host = host_notes(*c.ir);
    if (json_output()) {
      policies.push_back({{"policy", path},
                          {"ok", !c.diags.has_errors()},
                          {"profiles", c.ir ? nlohmann::json(c.ir->profiles.size()) : nlohmann::json(nullptr)},
                          {"errors", c.diags.error_count()},
                          {"warnings", c.diags.warning_count() + host.warnings.size()},
                          {"not_shown", c.diags.not_kept()},
                          {"host", {{"warnings", host.warnings}, {"notes", host.notes}}}});
      continue;
    }
    for (const auto& w : host.warnings) fmt::print(stderr, "{}: warning: on this host: {}\n", path, w);
    for (const auto& n : host.notes) fmt::print(stderr, "{}: note: on this host: {}\n", path, n);
    if (!c.diags.has_errors() && c.diags.all().empty() && host.warnings.empty())
      fmt::print("{}: ok ({} profile{})\n", path, c.ir->profiles.size(), c.ir->profiles.size() == 1 ? "" : "s");
  }
  document()["policies"] = std::move(policies);
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
  add_target_option(cmd, o);
  cmd->callback([&exit_code] { exit_code = run(paths, o); });
}

}  // namespace tw::tools
