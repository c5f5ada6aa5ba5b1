// SPDX-License-Identifier: Apache-2.0
#include "enforce_cli.h"

#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "commands.h"
#include "errors.h"
#include "output.h"
#include "compiler/bpf_backend.h"
#include "kernel/probes.h"
#include "kernel/resolve.h"
#include "probe_env.h"

namespace tw::tools {

void add_enforce_options(CLI::App* cmd, EnforceOptions& o, bool sizes) {
  add_target_option(cmd, o.policy);
  add_pin_root_option(cmd, o.pin_root);
  cmd->add_flag("--log-allowed", o.log_allowed, "Also log allowed decisions to the audit ring buffer");
  if (sizes) {
    cmd->add_option("--token-capacity", o.token_capacity, "Tokens remembered at once (creation fails closed beyond)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--object-capacity", o.object_capacity,
                    "Maps and programs counted at once for `limit maps|progs N per profile` (their creation fails "
                    "closed beyond)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--creator-capacity", o.creator_capacity,
                    "Creators counted at once for `limit tokens N per uid|userns` (their token creation fails closed "
                    "beyond)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--events-per-sec", o.events_per_sec, "Audit events per second and CPU before drops")
        ->capture_default_str();
    cmd->add_option("--counter-capacity", o.counter_capacity,
                    "Profiles whose counters are kept (0: 65536, or twice the profiles); counts beyond are lost, "
                    "and counted")
        ->capture_default_str();
  }
  cmd->add_option("--expect-sha256", o.expect_sha256,
                  "Refuse the policy unless its hash is this (`tokenwarden compile` and `status` print it)");
  cmd->add_flag("--force", o.force, "Enforce a policy even if it has no profiles");
  add_wait_option(cmd, o.wait_s);
}

void add_pin_root_option(CLI::App* cmd, std::string& pin_root) {
  cmd->add_option("--pin-root", pin_root, "Where the programs and maps are pinned")
      ->type_name("DIR")
      ->capture_default_str();
}

void add_wait_option(CLI::App* cmd, double& wait_s) {
  cmd->add_option("--wait", wait_s, "Seconds to wait for another load, replace or unload of the same pin root")
      ->capture_default_str();
}

Outcome<kernel::PinLock> lock_pin_root(const std::string& pin_root, double wait_s) {
  auto lock = kernel::PinLock::acquire(pin_root, static_cast<int>(wait_s * 1000));
  if (!lock) {
    report_error(lock.error());
    return Outcome<kernel::PinLock>::failed(kExitSystemError);
  }
  for (const auto& line : kernel::Enforcer::clean_stale(*lock)) report_note(line);
  return std::move(*lock);
}

compiler::Resolver host_resolver(const kernel::PathHasher& hasher) {
  auto adapt = [](kernel::PathIdentity p) { return compiler::Resolution{p.id, std::move(p.warning), std::move(p.info)}; };
  auto mounts = std::make_shared<std::vector<kernel::Mount>>(kernel::read_mounts());
  return {
      [&hasher, adapt, mounts](const std::string& p) { return adapt(kernel::resolve_exe(hasher, p, *mounts)); },
      [&hasher, adapt](const std::string& p) { return adapt(kernel::resolve_cgroup(hasher, p)); },
      [&hasher, adapt](const std::string& p) { return adapt(kernel::resolve_bpffs(hasher, p)); },
  };
}

namespace {

// Who could have written `path`: nobody but root (or the user running tokenwarden) may, since
// what it says is enforced on the whole host. "" when it is safe.
std::string writable_by_others(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "";  // reading it reports the error
  if (st.st_uid != 0 && st.st_uid != geteuid()) return fmt::format("it belongs to uid {}", st.st_uid);
  if (st.st_mode & S_IWOTH) return "everyone may write it";
  if (st.st_mode & S_IWGRP) return fmt::format("group {} may write it", st.st_gid);
  return "";
}

}  // namespace

Outcome<vocab::PolicyTables> tables_for(const std::string& path, const EnforceOptions& o) {
  using Failed = Outcome<vocab::PolicyTables>;
  auto loaded = load_ir(path, o.policy);
  if (!loaded) return Failed::failed(loaded.exit_code());
  const compiler::Ir& ir = loaded->ir;
  for (const auto& f : loaded->files)
    if (auto who = writable_by_others(f); !who.empty()) {
      report_error(fmt::format("{}: refusing to enforce a policy file another user could have changed: {}", f, who),
                   fmt::format("chown root: {} && chmod go-w {}", f, f));
      return Failed::failed(kExitPolicyError);
    }
  std::string sha = compiler::hex(loaded->digest);
  document()["sha256"] = sha;
  if (!o.expect_sha256.empty() && vocab::to_lower(o.expect_sha256) != sha) {
    report_error(fmt::format("{}: its sha256 is {}, not the expected {}; nothing was changed", path, sha, o.expect_sha256));
    return Failed::failed(kExitPolicyError);
  }
  if (ir.profiles.empty() && !o.force) {
    report_error(fmt::format("{}: policy `{}` has no profiles: with `default {}` it {} on this host", path, ir.name,
                             ir.default_allow ? "allow" : "deny",
                             ir.default_allow ? "confines no token" : "refuses every BPF token"),
                 "pass --force if that is what you mean");
    return Failed::failed(kExitPolicyError);
  }
  // Each generation hashes its paths with a key of its own (tw_abi.h).
  auto hasher = kernel::PathHasher::random();
  compiler::BpfBackendError backend_error;
  auto tables = compiler::lower_to_bpf(ir, host_resolver(hasher), backend_error);
  if (!tables) {
    report_error(fmt::format("{}: the BPF LSM backend cannot hold this policy: {}", path, backend_error.message));
    return Failed::failed(kExitPolicyError);
  }
  for (const auto& n : tables->notes) report_warning(n);
  for (const auto& n : tables->infos) report_note(n);
  std::copy(hasher.key().begin(), hasher.key().end(), tables->settings.path_key);
  static_assert(sizeof tables->settings.policy_sha256 == std::tuple_size_v<compiler::Digest>);
  std::copy(loaded->digest.begin(), loaded->digest.end(), tables->settings.policy_sha256);
  return std::move(*tables);
}

void begin_enforce_document(std::string_view verb, const std::string& path) {
  begin_document(verb, {"policy", "sha256", "policy_name", "profiles", "alternatives", "indexed", "scanned", "pin_root",
                        "generation", "replaced", "diagnostics", "diagnostics_not_shown"});
  document()["policy"] = path;
}

void describe_policy(const vocab::PolicyTables& tables, const std::string& pin_root) {
  auto& doc = document();
  doc["policy_name"] = tables.name;
  doc["profiles"] = tables.profiles.size();
  doc["alternatives"] = tables.conjs.size();
  doc["indexed"] = tables.conjs.size() - tables.scan.size();
  doc["scanned"] = tables.scan.size();
  doc["pin_root"] = pin_root;
}

int replace_loaded(kernel::Enforcer& e, const vocab::PolicyTables& tables, const EnforceOptions& o,
                   kernel::PinLock& lock) {
  auto generation = e.replace(tables, o.log_allowed, lock);
  if (!generation) {
    report_error(generation.error());
    report_detail("the previous policy is still enforcing");
    return kExitSystemError;
  }
  describe_policy(tables, o.pin_root);
  document()["generation"] = *generation;
  document()["replaced"] = true;
  if (!json_output())
    fmt::print("replaced: policy `{}` now enforcing ({} profiles), generation {}\n", tables.name,
               tables.profiles.size(), *generation);
  return kExitOk;
}

bool kernel_can_enforce(std::string_view verb) {
  kernel::ProbeEnv env;
  env.forced = forced_probes_from_env();
  kernel::Probes probes(env);
  auto blockers = probes.enforcement_blockers();
  if (blockers.empty()) return true;
  report_error(fmt::format("{}: this kernel cannot enforce tokenwarden policies ({}); nothing was loaded", verb,
                           probe_ids(blockers)),
               "`tokenwarden doctor` shows every probe; policies can still be checked, compiled and simulated here");
  for (const auto& b : blockers) {
    report_detail(fmt::format("{}: {}", b.title, b.value));
    if (!b.hint.empty()) report_detail(fmt::format("  hint: {}", b.hint));
  }
  return false;
}

}  // namespace tw::tools
