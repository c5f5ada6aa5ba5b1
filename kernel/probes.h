// SPDX-License-Identifier: Apache-2.0
// Feature probes: one function per fact, each computed once and cached; report() feeds
// `tokenwarden doctor`. Probes read files below configurable roots and can be forced to a
// verdict (ProbeEnv::forced, or TOKENWARDEN_PROBE_FORCE=id=verdict,... in the CLI), so tests
// can exercise every branch without a special kernel.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "btf.h"

namespace tw::kernel {

enum class Verdict { ok, info, warn, fail };
const char* verdict_name(Verdict v);
std::optional<Verdict> verdict_from_name(const std::string& name);

struct ProbeResult {
  std::string id;      // stable key, e.g. "lsm_prog_load"
  std::string title;   // "BPF LSM program load"
  Verdict verdict = Verdict::info;
  std::string value;   // what was found, e.g. "EPERM" or "6.18.44"
  std::optional<int64_t> number;  // the value as a number, when it is one (a hook's arity)
  std::string hint;    // what to do about it; empty when nothing to do
  int err = 0;         // errno behind a failure, if any
  bool forced = false;
};

struct ProbeEnv {
  std::string sys_root = "/sys";
  std::string proc_root = "/proc";
  std::string btf_path;  // default: <sys_root>/kernel/btf/vmlinux
  std::map<std::string, Verdict> forced;
  bool may_mount_securityfs = true;  // only when sys_root is the real /sys
};

// Token LSM hooks as BTF functions, and the arity that carries the 6.15 `kernel` flag (0: none).
struct HookSpec {
  const char* hook;       // "bpf_token_create"
  int kernel_flag_arity;  // bpf_map_create/bpf_prog_load have 4 args from 6.15
  bool required;          // enforcement needs it
};
const std::vector<HookSpec>& token_hooks();

class Probes {
 public:
  explicit Probes(ProbeEnv env = {});

  const ProbeResult& kernel_version();
  const ProbeResult& btf();
  const ProbeResult& bpf_lsm_active();
  const ProbeResult& lsm_prog_load();
  const ProbeResult& hook(const std::string& name);  // "hook.bpf_token_create"
  const ProbeResult& token_support();
  const ProbeResult& token_info();
  const ProbeResult& lockdown();
  const ProbeResult& selinux();
  const ProbeResult& selinux_token_perms();
  const ProbeResult& libbpf_version();
  const ProbeResult& unprivileged_bpf_disabled();
  const ProbeResult& catalogue();

  // Every probe, in report order.
  std::vector<ProbeResult> report();
  // BTF + BPF LSM active + an LSM program loads + the token hooks exist.
  bool enforcement_possible();
  // Probes whose failure rules out enforcement, for the summary line.
  std::vector<ProbeResult> enforcement_blockers();

  // Parsed "release" of the running kernel: {major, minor}; {0,0} if unknown.
  std::pair<int, int> kernel_release();

 private:
  template <class F>
  const ProbeResult& cached(const std::string& id, const std::string& title, F&& compute);
  std::string sys(const std::string& rel) const { return env_.sys_root + rel; }
  std::string proc(const std::string& rel) const { return env_.proc_root + rel; }
  std::string lsm_list();
  // The kernel's BTF, parsed once however many probes read it.
  const Result<KernelBtf>& kernel_btf();

  ProbeEnv env_;
  std::optional<Result<KernelBtf>> btf_;
  std::map<std::string, ProbeResult> cache_;
  std::optional<std::string> lsm_list_;
};

}  // namespace tw::kernel
