#include "enforce_cli.h"

#include <fmt/core.h>

#include <cstring>

#include "commands.h"
#include "compiler/bpf_backend.h"
#include "kernel/probes.h"
#include "kernel/resolve.h"
#include "probe_env.h"

namespace tw::tools {

void add_enforce_options(CLI::App* cmd, EnforceOptions& o, bool sizes) {
  add_target_option(cmd, o.policy);
  cmd->add_option("--pin-root", o.pin_root, "Where the programs and maps are pinned")->capture_default_str();
  cmd->add_flag("--log-allowed", o.log_allowed, "Also log allowed decisions to the audit ring buffer");
  if (sizes) {
    cmd->add_option("--token-capacity", o.token_capacity, "Tokens remembered at once (creation fails closed beyond)")
        ->capture_default_str();
    cmd->add_option("--events-per-sec", o.events_per_sec, "Audit events per second and CPU before drops")
        ->capture_default_str();
  }
}

std::optional<kernel::PolicyTables> tables_for(const std::string& path, const EnforceOptions& o, int& exit_code) {
  std::string sha;
  auto ir = load_ir(path, o.policy, exit_code, &sha);
  if (!ir) return std::nullopt;
  compiler::Resolver resolver{
      [](const std::string& p) { return kernel::resolve_exe(p); },
      [](const std::string& p) { return kernel::resolve_cgroup(p); },
      [](const std::string& p) { return kernel::resolve_bpffs(p); },
  };
  compiler::BpfBackendError backend_error;
  auto tables = compiler::lower_to_bpf(*ir, resolver, backend_error);
  if (!tables) {
    fmt::print(stderr, "tokenwarden: error: {}: the BPF LSM backend cannot hold this policy: {}\n", path,
               backend_error.message);
    exit_code = kExitPolicyError;
    return std::nullopt;
  }
  for (const auto& n : tables->notes) fmt::print(stderr, "tokenwarden: warning: {}\n", n);
  for (size_t i = 0; i + 1 < sha.size() && i / 2 < sizeof tables->settings.policy_sha256; i += 2)
    tables->settings.policy_sha256[i / 2] = static_cast<uint8_t>(std::stoul(sha.substr(i, 2), nullptr, 16));
  return tables;
}

bool kernel_can_enforce(std::string_view verb) {
  kernel::ProbeEnv env;
  env.forced = forced_probes_from_env();
  kernel::Probes probes(env);
  auto blockers = probes.enforcement_blockers();
  if (blockers.empty()) return true;
  fmt::print(stderr, "tokenwarden {}: error: this kernel cannot enforce tokenwarden policies; nothing was loaded\n", verb);
  for (const auto& b : blockers) {
    fmt::print(stderr, "  {}: {}\n", b.title, b.value);
    if (!b.hint.empty()) fmt::print(stderr, "    hint: {}\n", b.hint);
  }
  fmt::print(stderr, "  (`tokenwarden doctor` shows every probe; policies can still be checked, compiled and simulated here)\n");
  return false;
}

}  // namespace tw::tools
