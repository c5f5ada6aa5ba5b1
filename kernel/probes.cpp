// SPDX-License-Identifier: Apache-2.0
#include "probes.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bpf.h"
#include "btf.h"
#include "vocab/catalogue.h"
#include "result.h"
#include "vocab/names.h"

namespace tw::kernel {
namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool contains_word(const std::string& list, const std::string& word, char sep) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, sep))
    if (item == word) return true;
  return false;
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::ok: return "ok";
    case Verdict::info: return "info";
    case Verdict::warn: return "warn";
    case Verdict::fail: return "fail";
  }
  return "?";
}

std::optional<Verdict> verdict_from_name(const std::string& name) {
  for (Verdict v : {Verdict::ok, Verdict::info, Verdict::warn, Verdict::fail})
    if (name == verdict_name(v)) return v;
  return std::nullopt;
}

const std::vector<HookSpec>& token_hooks() {
  static const std::vector<HookSpec> hooks = {
      {"bpf_token_create", 0, true}, {"bpf_token_cmd", 0, true},
      {"bpf_token_capable", 0, true}, {"bpf_token_free", 0, false},
      {"bpf_map_create", 4, false},   {"bpf_prog_load", 4, false},
  };
  return hooks;
}

Probes::Probes(ProbeEnv env) : env_(std::move(env)) {
  if (env_.btf_path.empty()) env_.btf_path = env_.sys_root + "/kernel/btf/vmlinux";
}

template <class F>
const ProbeResult& Probes::cached(const std::string& id, const std::string& title, F&& compute) {
  if (auto it = cache_.find(id); it != cache_.end()) return it->second;
  ProbeResult r;
  if (auto f = env_.forced.find(id); f != env_.forced.end()) {
    r.verdict = f->second;
    r.value = "forced";
    r.forced = true;
    if (f->second == Verdict::fail) r.hint = "forced off for testing (TOKENWARDEN_PROBE_FORCE)";
  } else {
    r = compute();
  }
  r.id = id;
  r.title = title;
  return cache_.emplace(id, std::move(r)).first->second;
}

std::pair<int, int> Probes::kernel_release() {
  const ProbeResult& r = kernel_version();
  int major = 0, minor = 0;
  std::sscanf(r.value.c_str(), "%d.%d", &major, &minor);
  return {major, minor};
}

const ProbeResult& Probes::kernel_version() {
  return cached("kernel_version", "Kernel version", [&] {
    ProbeResult r;
    utsname u{};
    uname(&u);
    r.value = u.release;
    int major = 0, minor = 0;
    std::sscanf(u.release, "%d.%d", &major, &minor);
    if (major > 6 || (major == 6 && minor >= 9)) {
      r.verdict = Verdict::ok;
    } else {
      r.verdict = Verdict::fail;
      r.hint = "BPF tokens need Linux 6.9 or newer";
    }
    return r;
  });
}

const ProbeResult& Probes::btf() {
  return cached("btf", "Kernel BTF", [&] {
    ProbeResult r;
    const auto& b = kernel_btf();
    if (b) {
      r.verdict = Verdict::ok;
      r.value = env_.btf_path;
    } else {
      r.verdict = Verdict::fail;
      r.err = b.error().err;
      r.value = "missing";
      r.hint = "CO-RE programs need CONFIG_DEBUG_INFO_BTF=y (" + env_.btf_path + ")";
    }
    return r;
  });
}

const Result<KernelBtf>& Probes::kernel_btf() {
  if (!btf_) btf_.emplace(KernelBtf::load(env_.btf_path));
  return *btf_;
}

std::string Probes::lsm_list() {
  if (lsm_list_) return *lsm_list_;
  std::string path = sys("/kernel/security/lsm");
  auto s = read_file(path);
  if (!s && env_.may_mount_securityfs && env_.sys_root == "/sys") {
    // securityfs is often not mounted on minimal systems; mounting it has no other effect.
    ::mount("securityfs", "/sys/kernel/security", "securityfs", 0, nullptr);
    s = read_file(path);
  }
  lsm_list_ = s.value_or("");
  return *lsm_list_;
}

const ProbeResult& Probes::bpf_lsm_active() {
  return cached("bpf_lsm_active", "BPF LSM active", [&] {
    ProbeResult r;
    std::string list = lsm_list();
    r.value = list.empty() ? "unknown (securityfs unreadable)" : list;
    if (contains_word(list, "bpf", ',')) {
      r.verdict = Verdict::ok;
    } else {
      r.verdict = Verdict::fail;
      r.hint = list.empty()
                   ? "cannot read /sys/kernel/security/lsm: mount securityfs (as root) and retry"
                   : fmt::format("BPF LSM is not active: boot with lsm={},bpf", list);
    }
    return r;
  });
}

const ProbeResult& Probes::lsm_prog_load() {
  return cached("lsm_prog_load", "BPF LSM program load", [&] {
    ProbeResult r;
    const auto& b = kernel_btf();
    std::optional<uint32_t> id;
    if (b) id = b->func_id("bpf_lsm_bpf_token_cmd");
    if (b && !id) id = b->func_id("bpf_lsm_file_open");
    if (!id) {
      r.verdict = Verdict::fail;
      r.value = "no BTF for an LSM hook";
      r.hint = "the kernel lacks BTF or CONFIG_BPF_LSM; enforcement is unavailable";
      return r;
    }
    ProgSpec spec;
    spec.type = BPF_PROG_TYPE_LSM;
    spec.expected_attach_type = BPF_LSM_MAC;
    spec.attach_btf_id = *id;
    spec.name = "tw_probe";
    auto fd = prog_load(spec);  // loaded, never attached: no effect on the system
    if (fd) {
      r.verdict = Verdict::ok;
      r.value = "loads";
      return r;
    }
    r.verdict = Verdict::fail;
    r.err = fd.error().err;
    r.value = vocab::errno_name(r.err);
    if (!fd.error().detail.empty()) r.value += ": " + fd.error().detail;
    if (r.err == EPERM && geteuid() == 0) {
      r.hint = "this kernel refuses BPF LSM programs (EPERM) even for root: lockdown or a "
               "hardened kernel; enforcement is unavailable here (use the test VM)";
    } else if (r.err == EPERM) {
      r.hint = "loading LSM programs needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)";
    } else {
      r.hint = "the kernel rejected a minimal LSM program; see the verifier message";
    }
    return r;
  });
}

const ProbeResult& Probes::hook(const std::string& name) {
  return cached("hook." + name, "LSM hook " + name, [&] {
    ProbeResult r;
    const auto& b = kernel_btf();
    const HookSpec* spec = nullptr;
    for (const auto& h : token_hooks())
      if (name == h.hook) spec = &h;
    auto arity = b ? b->func_arity("bpf_lsm_" + name) : std::nullopt;
    if (!arity) {
      r.verdict = spec && spec->required ? Verdict::fail : Verdict::warn;
      r.value = "absent";
      r.hint = fmt::format("bpf_lsm_{} is not in the kernel BTF (needs Linux 6.9+ with BPF LSM)",
                           name);
      return r;
    }
    r.verdict = Verdict::ok;
    r.value = fmt::format("{} args", *arity);
    r.number = *arity;
    if (spec && spec->kernel_flag_arity)
      r.value += *arity >= spec->kernel_flag_arity ? " (with the 6.15 `kernel` flag)"
                                                   : " (no `kernel` flag: pre-6.15)";
    return r;
  });
}

const ProbeResult& Probes::token_support() {
  return cached("token_support", "BPF token support", [&] {
    ProbeResult r;
    // BPF_TOKEN_CREATE with an invalid fd: EBADF if the command exists, EINVAL if it does not.
    union bpf_attr attr {};
    attr.token_create.bpffs_fd = static_cast<__u32>(-1);
    long ret = syscall(__NR_bpf, BPF_TOKEN_CREATE, &attr, sizeof attr);
    int err = ret < 0 ? errno : 0;
    if (err == EBADF) {
      r.verdict = Verdict::ok;
      r.value = "BPF_TOKEN_CREATE available";
    } else {
      r.verdict = Verdict::fail;
      r.err = err;
      r.value = fmt::format("BPF_TOKEN_CREATE probe returned {}", vocab::errno_name(err));
      r.hint = err == EPERM ? "bpf() is blocked for this process (seccomp or missing privileges)"
                            : "this kernel has no BPF token support (Linux 6.9+)";
    }
    return r;
  });
}

const ProbeResult& Probes::token_info() {
  return cached("token_info", "Token introspection (bpf_token_info)", [&] {
    ProbeResult r;
    const auto& b = kernel_btf();
    if (b && b->has_struct("bpf_token_info")) {
      r.verdict = Verdict::ok;
      r.value = "BPF_OBJ_GET_INFO_BY_FD on tokens (6.17+)";
    } else {
      r.verdict = Verdict::info;
      r.value = "absent (fdinfo only, before 6.17)";
    }
    return r;
  });
}

const ProbeResult& Probes::lockdown() {
  return cached("lockdown", "Kernel lockdown", [&] {
    ProbeResult r;
    lsm_list();  // mounts securityfs if needed
    auto s = read_file(sys("/kernel/security/lockdown"));
    r.verdict = Verdict::info;
    if (!s) {
      r.value = "unknown";
      return r;
    }
    auto l = s->find('['), e = s->find(']');
    r.value = (l != std::string::npos && e != std::string::npos) ? s->substr(l + 1, e - l - 1) : *s;
    if (r.value == "confidentiality") {
      r.verdict = Verdict::warn;
      r.hint = "lockdown=confidentiality blocks bpf_probe_read of kernel memory; LSM programs "
               "that need it fail to load";
    }
    return r;
  });
}

const ProbeResult& Probes::selinux() {
  return cached("selinux", "SELinux", [&] {
    ProbeResult r;
    r.verdict = Verdict::info;
    bool active = contains_word(lsm_list(), "selinux", ',');
    auto enforce = read_file(sys("/fs/selinux/enforce"));
    if (!active && !enforce) {
      r.value = "not active";
      return r;
    }
    if (!enforce) {
      r.value = "active, selinuxfs not mounted";
      r.hint = "mount -t selinuxfs selinuxfs /sys/fs/selinux to inspect it";
      return r;
    }
    bool has_policy = std::filesystem::exists(sys("/fs/selinux/class"));
    r.value = !has_policy ? "no policy loaded" : (*enforce == "1" ? "enforcing" : "permissive");
    return r;
  });
}

const ProbeResult& Probes::selinux_token_perms() {
  return cached("selinux_token_perms", "SELinux BPF token permissions", [&] {
    ProbeResult r;
    r.verdict = Verdict::info;
    if (!std::filesystem::exists(sys("/fs/selinux/class"))) {
      r.value = "n/a (no SELinux policy loaded)";
      return r;
    }
    bool perms = std::filesystem::exists(sys("/fs/selinux/class/bpf/perms/map_create_as")) &&
                 std::filesystem::exists(sys("/fs/selinux/class/bpf/perms/prog_load_as"));
    auto cap = read_file(sys("/fs/selinux/policy_capabilities/bpf_token_perms"));
    r.value = fmt::format("bpf map_create_as/prog_load_as: {}; policycap bpf_token_perms: {}",
                          perms ? "declared" : "absent", cap ? *cap : "unknown to this kernel");
    if (!perms)
      r.hint = "the loaded policy does not declare the Linux 7.0 bpf permissions; the "
               "tokenwarden SELinux module uses its gated variant";
    return r;
  });
}

const ProbeResult& Probes::libbpf_version() {
  return cached("libbpf_version", "libbpf", [&] {
    ProbeResult r;
    r.value = libbpf_version_string();
    bool ok = libbpf_major_version() > 1 ||
              (libbpf_major_version() == 1 && libbpf_minor_version() >= 4);
    r.verdict = ok ? Verdict::ok : Verdict::fail;
    if (!ok) r.hint = "libbpf >= 1.4 is needed for BPF tokens (bookworm-backports)";
    return r;
  });
}

const ProbeResult& Probes::unprivileged_bpf_disabled() {
  return cached("unprivileged_bpf_disabled", "kernel.unprivileged_bpf_disabled", [&] {
    ProbeResult r;
    r.verdict = Verdict::info;
    auto s = read_file(proc("/sys/kernel/unprivileged_bpf_disabled"));
    r.value = s.value_or("unknown");
    if (s && *s != "0")
      r.hint = "set: token users also need CAP_BPF in their user namespace even for "
               "unprivileged map and program types";
    return r;
  });
}

const ProbeResult& Probes::catalogue() {
  return cached("catalogue", "Catalogue vs kernel BTF enums", [&] {
    ProbeResult r;
    const auto& b = kernel_btf();
    if (!b) {
      r.verdict = Verdict::info;
      r.value = "no BTF to compare with";
      return r;
    }
    std::vector<std::string> mismatches, kernel_only;
    for (vocab::EnumKind kind : vocab::kAllKinds) {
      auto kt = b->enum_table(kind);
      if (!kt) {
        mismatches.push_back(std::string(vocab::btf_enum_name(kind)) + " missing");
        continue;
      }
      const vocab::EnumTable& ours = vocab::builtin_table(kind);
      for (const auto& e : kt->entries) {
        auto v = ours.find(e.name);
        if (!v) kernel_only.push_back(vocab::to_lower(e.name));
        else if (*v != e.value)
          mismatches.push_back(fmt::format("{}={} (ours {})", vocab::to_lower(e.name), e.value, *v));
      }
    }
    if (!mismatches.empty()) {
      r.verdict = Verdict::warn;
      r.value = fmt::format("{} value mismatches: {}", mismatches.size(), fmt::join(mismatches, ", "));
      r.hint = "tokenwarden's catalogue is out of date for this kernel";
    } else if (!kernel_only.empty()) {
      r.verdict = Verdict::info;
      r.value = fmt::format("kernel has {} names tokenwarden does not know: {}", kernel_only.size(),
                            fmt::join(kernel_only, ", "));
    } else {
      r.verdict = Verdict::ok;
      r.value = "all names and values match";
    }
    return r;
  });
}

std::vector<ProbeResult> Probes::report() {
  std::vector<ProbeResult> out = {kernel_version(), btf(), bpf_lsm_active(), lsm_prog_load()};
  for (const auto& h : token_hooks()) out.push_back(hook(h.hook));
  for (const ProbeResult* r : {&token_support(), &token_info(), &lockdown(), &selinux(),
                               &selinux_token_perms(), &libbpf_version(),
                               &unprivileged_bpf_disabled(), &catalogue()})
    out.push_back(*r);
  return out;
}

std::vector<ProbeResult> Probes::enforcement_blockers() {
  std::vector<ProbeResult> out;
  std::vector<const ProbeResult*> needed = {&kernel_version(), &btf(), &bpf_lsm_active(),
                                            &lsm_prog_load()};
  for (const auto& h : token_hooks())
    if (h.required) needed.push_back(&hook(h.hook));
  for (const ProbeResult* r : needed)
    if (r->verdict == Verdict::fail) out.push_back(*r);
  return out;
}

bool Probes::enforcement_possible() { return enforcement_blockers().empty(); }

}  // namespace tw::kernel
