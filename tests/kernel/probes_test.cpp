// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

#include <fstream>

#include "kernel/probes.h"
#include "vocab/catalogue.h"

using namespace tw::kernel;
using namespace tw::vocab;
namespace fs = std::filesystem;

namespace {

// A fake /sys tree in a temporary directory.
struct FakeSys {
  fs::path root;
  FakeSys() {
    root = fs::temp_directory_path() / fs::path("tw-fakesys-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(counter++));
    fs::create_directories(root);
  }
  ~FakeSys() { fs::remove_all(root); }
  void write(const std::string& rel, const std::string& text) {
    fs::path p = root / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  ProbeEnv env() const {
    ProbeEnv e;
    e.sys_root = root.string();
    e.proc_root = root.string() + "/proc";
    e.may_mount_securityfs = false;
    return e;
  }
  static inline int counter = 0;
};

}  // namespace

TEST_CASE("probe: BPF LSM missing from the LSM list gives the boot hint") {
  FakeSys s;
  s.write("kernel/security/lsm", "lockdown,capability,landlock\n");
  Probes p(s.env());
  const auto& r = p.bpf_lsm_active();
  CHECK(r.verdict == Verdict::fail);
  CHECK(r.hint == "BPF LSM is not active: boot with lsm=lockdown,capability,landlock,bpf");
  CHECK_FALSE(p.enforcement_possible());
  bool listed = false;
  for (const auto& b : p.enforcement_blockers()) listed |= b.id == "bpf_lsm_active";
  CHECK(listed);
}

TEST_CASE("probe: BPF LSM present") {
  FakeSys s;
  s.write("kernel/security/lsm", "lockdown,capability,bpf");
  Probes p(s.env());
  CHECK(p.bpf_lsm_active().verdict == Verdict::ok);
}

TEST_CASE("probe: unreadable securityfs says how to fix it") {
  FakeSys s;
  Probes p(s.env());
  CHECK(p.bpf_lsm_active().verdict == Verdict::fail);
  CHECK(p.bpf_lsm_active().hint.find("mount securityfs") != std::string::npos);
}

TEST_CASE("probe: lockdown mode is the bracketed word") {
  FakeSys s;
  s.write("kernel/security/lsm", "lockdown,bpf");
  s.write("kernel/security/lockdown", "none [integrity] confidentiality\n");
  Probes p(s.env());
  CHECK(p.lockdown().value == "integrity");
  CHECK(p.lockdown().verdict == Verdict::info);
  FakeSys c;
  c.write("kernel/security/lockdown", "none integrity [confidentiality]");
  Probes pc(c.env());
  CHECK(pc.lockdown().value == "confidentiality");
  CHECK(pc.lockdown().verdict == Verdict::warn);
}

TEST_CASE("probe: SELinux states and the 7.0 token permissions") {
  FakeSys none;
  none.write("kernel/security/lsm", "capability,bpf");
  CHECK(Probes(none.env()).selinux().value == "not active");

  FakeSys on;
  on.write("kernel/security/lsm", "capability,selinux,bpf");
  on.write("fs/selinux/enforce", "1");
  on.write("fs/selinux/class/bpf/perms/map_create", "1");
  Probes p(on.env());
  CHECK(p.selinux().value == "enforcing");
  CHECK(p.selinux_token_perms().value.find("absent") != std::string::npos);
  CHECK_FALSE(p.selinux_token_perms().hint.empty());

  on.write("fs/selinux/class/bpf/perms/map_create_as", "6");
  on.write("fs/selinux/class/bpf/perms/prog_load_as", "7");
  on.write("fs/selinux/policy_capabilities/bpf_token_perms", "1");
  Probes p2(on.env());
  CHECK(p2.selinux_token_perms().value ==
        "bpf map_create_as/prog_load_as: declared; policycap bpf_token_perms: 1");
  CHECK(p2.selinux_token_perms().hint.empty());
}

TEST_CASE("probe: missing BTF rules out enforcement and hook probes say absent") {
  FakeSys s;
  s.write("kernel/security/lsm", "bpf");
  Probes p(s.env());
  CHECK(p.btf().verdict == Verdict::fail);
  CHECK(p.hook("bpf_token_cmd").verdict == Verdict::fail);
  CHECK(p.hook("bpf_token_free").verdict == Verdict::warn);  // not required for enforcement
  CHECK(p.lsm_prog_load().verdict == Verdict::fail);
  CHECK_FALSE(p.enforcement_possible());
}

TEST_CASE("probe: forced verdicts win and are marked") {
  FakeSys s;
  ProbeEnv env = s.env();
  env.forced["bpf_lsm_active"] = Verdict::ok;
  env.forced["unprivileged_bpf_disabled"] = Verdict::warn;
  Probes p(env);
  CHECK(p.bpf_lsm_active().verdict == Verdict::ok);
  CHECK(p.bpf_lsm_active().forced);
  CHECK(p.unprivileged_bpf_disabled().verdict == Verdict::warn);
}

TEST_CASE("probe: results are cached") {
  FakeSys s;
  s.write("kernel/security/lsm", "bpf");
  Probes p(s.env());
  const ProbeResult* first = &p.bpf_lsm_active();
  s.write("kernel/security/lsm", "capability");
  CHECK(&p.bpf_lsm_active() == first);
  CHECK(p.bpf_lsm_active().verdict == Verdict::ok);
}

TEST_CASE("probe: unprivileged_bpf_disabled comes from procfs") {
  FakeSys s;
  s.write("proc/sys/kernel/unprivileged_bpf_disabled", "2\n");
  Probes p(s.env());
  CHECK(p.unprivileged_bpf_disabled().value == "2");
  CHECK_FALSE(p.unprivileged_bpf_disabled().hint.empty());
}
