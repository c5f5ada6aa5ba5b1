// SPDX-License-Identifier: Apache-2.0
// SELinux cases: the minimal test policies (tests/vm/selinux/) and tokenwarden's policy module
// (selinux-module/) on the VM kernels. vmrun.py compiles the policies each kernel needs into
// /policy/NAME.bin; a case loads one (replacing whatever was loaded) and switches to enforcing.
// They run last in a boot: once enforcing, the guest stays so.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <map>
#include <vector>
#include <string>

#include "guest.h"
#include "kernel/bpf.h"
#include "token_sid.skel.h"
#include "vocab/catalogue.h"
#include "vocab/names.h"
#include <bpf/bpf.h>

namespace twvm {
namespace {

using namespace tw::kernel;
using namespace tw::vocab;

// Loads /policy/NAME.bin and switches to enforcing; "ok" or what went wrong.
std::string load_selinux_policy(const std::string& name) {
  std::ifstream in("/policy/" + name + ".bin", std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.empty()) return "no /policy/" + name + ".bin";
  int fd = open("/sys/fs/selinux/load", O_WRONLY);
  if (fd < 0) return "open /sys/fs/selinux/load: " + errno_name(errno);
  ssize_t n = write(fd, data.data(), data.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(data.size())) return "load policy " + name + ": " + errno_name(err);
  std::ofstream("/sys/fs/selinux/enforce") << "1";
  if (read_text("/sys/fs/selinux/enforce") != "1") return "enforce did not switch on";
  return "ok";
}

std::string context(const std::string& type) { return "system_u:system_r:" + type; }

// Switches the calling process to `type`; "" or the errno.
std::string setcon(const std::string& type) {
  std::string c = context(type);
  int fd = open("/proc/self/attr/current", O_WRONLY);
  if (fd < 0) return "open:" + errno_name(errno);
  std::string r = write(fd, c.data(), c.size()) < 0 ? "setcon:" + errno_name(errno) : "";
  close(fd);
  return r;
}

// Runs fn in a child that first switches to SELinux domain `type`.
std::string in_domain(const std::string& type, const std::function<std::string()>& fn) {
  int p[2];
  if (pipe(p) != 0) return "pipe";
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::string r = setcon(type);
    if (r.empty()) r = fn();
    if (write(p[1], r.data(), r.size()) < 0) _exit(2);
    _exit(0);
  }
  close(p[1]);
  std::string answer = read_answer(p[0]);
  waitpid(pid, nullptr, 0);
  return answer;
}

// Domain `manager` sets up a bpffs delegating map and program creation (it runs
// fsconfig(FSCONFIG_CMD_CREATE), so the superblock's creator is `manager`); inside the new
// namespace the process switches to `user`, creates a token, then an array map and a socket
// filter with it: "token=X map=Y prog=Z".
std::string delegated_session(const std::string& manager, const std::string& user) {
  return in_domain(manager, [&] {
    TokenSession s;
    s.masks.cmds = (1ULL << BPF_MAP_CREATE) | (1ULL << BPF_PROG_LOAD);
    s.masks.maps = 1ULL << BPF_MAP_TYPE_ARRAY;
    s.masks.progs = 1ULL << BPF_PROG_TYPE_SOCKET_FILTER;
    s.masks.attachs = 1ULL << BPF_CGROUP_INET_INGRESS;
    s.setup = [&] { return setcon(user); };
    return token_session(s, [](int token) {
      std::string r = "map=" + outcome_of(map_create({}, token));
      return r + " prog=" + outcome_of(prog_load({}, token));
    });
  });
}

// Like delegated_session, from a bpffs delegating array maps only, as a task in cgroup `cg`:
// "token=X map=Y" for an array map of `entries` entries.
std::string map_session(const std::string& manager, const std::string& user, const std::string& cg, uint32_t entries) {
  return in_domain(manager, [&] {
    TokenSession s;
    s.masks.cmds = 1ULL << BPF_MAP_CREATE;
    s.masks.maps = 1ULL << BPF_MAP_TYPE_ARRAY;
    s.cgroup = cg;
    s.setup = [&] { return setcon(user); };
    return token_session(s, [&](int token) { return "map=" + outcome_of(map_create({.max_entries = entries}, token)); });
  });
}

// AVC denials logged since the last call (the guest has no audit daemon: they go to the kernel log).
std::string new_avc_denials() {
  static size_t seen = 0;
  auto [rc, log] = sh("dmesg");
  std::string out;
  size_t n = 0, pos = 0;
  while ((pos = log.find("avc:  denied", pos)) != std::string::npos) {
    size_t end = log.find('\n', pos);
    if (n++ >= seen) out += log.substr(pos, end - pos) + "\n";
    pos = end == std::string::npos ? log.size() : end;
  }
  seen = n;
  return out;
}

}  // namespace

Outcome selinux_map_create() {
  if (std::string s = load_selinux_policy("active"); s != "ok") return fail(s);
  std::string self = read_text("/proc/self/attr/current");
  std::string allowed = outcome_of(map_create({}));
  std::string confined = in_domain("confined_t", [] { return outcome_of(map_create({})); });
  std::string detail = fmt::format("enforcing; {}: map_create={}; confined_t: map_create={}", self, allowed, confined);
  return allowed == "ok" && confined == "EACCES" ? pass(detail) : fail(detail);
}

Outcome selinux_token_perms() {
  if (std::string s = load_selinux_policy("active"); s != "ok") return fail(s);
  bool map_as = access("/sys/fs/selinux/class/bpf/perms/map_create_as", F_OK) == 0;
  bool prog_as = access("/sys/fs/selinux/class/bpf/perms/prog_load_as", F_OK) == 0;
  std::string cap = read_text("/sys/fs/selinux/policy_capabilities/bpf_token_perms");
  std::string detail = fmt::format("map_create_as={} prog_load_as={} policycap bpf_token_perms={}",
                                   map_as, prog_as, cap.empty() ? "absent" : cap);
  return map_as && prog_as && cap == "1" ? pass(detail) : fail(detail);
}

// Linux 7.x, the module's delegation interfaces (selinux-module/delegation-token.cil) as
// tests/vm/selinux/grants.cil calls them, with and without the bpf_token_perms module.
Outcome selinux_module_delegation() {
  Expectations expect;
  if (std::string s = load_selinux_policy("module"); s != "ok") return fail(s);
  new_avc_denials();
  std::string detail = "bpf_token_perms=" + read_text("/sys/fs/selinux/policy_capabilities/bpf_token_perms");
  // One session; returns the AVC denials it caused.
  auto run = [&](const std::string& user, const std::string& want) {
    // Without an audit daemon AVC denials reach the kernel log through printk_ratelimited (10
    // lines per 5 s): start each session with a fresh allowance.
    sleep(6);
    std::string got = delegated_session("mgr_t", user);
    expect(user + " with tokens from mgr_t", got, want);
    detail += "; " + user + ": " + got;
    return new_avc_denials();
  };
  auto denied = [](const std::string& avc, const std::string& perm, const std::string& user, const std::string& target,
                   const std::string& tclass) {
    for (size_t pos = 0; (pos = avc.find("{ " + perm + " }", pos)) != std::string::npos; ++pos) {
      std::string line = avc.substr(pos, avc.find('\n', pos) - pos);
      if (line.find("scontext=system_u:system_r:" + user + " ") != std::string::npos &&
          line.find("tcontext=system_u:system_r:" + target + " ") != std::string::npos &&
          line.find("tclass=" + tclass + " ") != std::string::npos)
        return true;
    }
    return false;
  };
  // Granted maps, programs and CAP_BPF: all works, and nothing is denied (but the CAP_PERFMON
  // the verifier asks for, which grants.cil does not audit).
  std::string avc = run("app_t", "token=ok map=ok prog=ok");
  expect.require(avc.empty(), "app_t caused denials: " + avc);
  // Not granted CAP_BPF through the token: the token exists, bpf_token_capable refuses CAP_BPF
  // against the delegator, so map and program creation fail with EPERM.
  avc = run("nocap_t", "token=ok map=EPERM prog=EPERM");
  expect.require(denied(avc, "bpf", "nocap_t", "mgr_t", "cap2_userns"), "nocap_t: no CAP_BPF denial against mgr_t: " + avc);
  // Granted maps only, from a bpffs that also delegates program loading: no token (EACCES).
  avc = run("maponly_t", "token=EACCES");
  expect.require(denied(avc, "prog_load_as", "maponly_t", "mgr_t", "bpf"), "maponly_t: no prog_load_as denial: " + avc);
  // Granted nothing: not even CAP_BPF in its own namespace, which BPF_TOKEN_CREATE requires (EPERM).
  avc = run("other_t", "token=EPERM");
  expect.require(denied(avc, "bpf", "other_t", "other_t", "cap2_userns"), "other_t: no CAP_BPF denial on itself: " + avc);

  // Without token-perms.cil the pre-7.0 check (USER self:bpf map_create) applies to token-backed
  // calls too, and the module's interfaces do not grant it.
  if (std::string s = load_selinux_policy("module-nopolcap"); s != "ok") return fail(s);
  new_avc_denials();
  detail += " | without token-perms.cil: bpf_token_perms=" + read_text("/sys/fs/selinux/policy_capabilities/bpf_token_perms");
  avc = run("app_t", "token=ok map=EACCES prog=EACCES");
  expect.require(denied(avc, "map_create", "app_t", "app_t", "bpf") && denied(avc, "prog_load", "app_t", "app_t", "bpf"),
                 "app_t: no legacy self:bpf denials: " + avc);
  return expect.result(detail);
}

// Linux 7.x: tests/vm/policies/both.tw enforced by SELinux (its --emit cil, with the module)
// and by the BPF LSM (tokenwarden load) at once. Each layer refuses what it sees, the stricter
// decision wins, and each refusal shows in its own layer's log.
Outcome selinux_both_backends() {
  Expectations expect;
  if (std::string s = load_selinux_policy("both"); s != "ok") return fail(s);
  mkdir("/sys/fs/cgroup/both", 0755);
  auto [rc, out] = sh("/bin/tokenwarden load /policies/both.tw");
  if (rc != 0) return fail("load: " + out);
  new_avc_denials();
  sh("/bin/tokenwarden audit > /dev/null");  // drain
  std::string detail;
  auto step = [&](const std::string& what, const std::string& user, uint32_t entries, const std::string& want) {
    sleep(6);  // a fresh allowance of AVC lines (printk_ratelimited)
    std::string got = map_session("mgr_t", user, "/both", entries);
    expect(what, got, want);
    std::string avc = new_avc_denials();
    auto [arc, audit] = sh("/bin/tokenwarden audit");
    detail += fmt::format("{}: {} | SELinux: {} | tokenwarden: {}; ", what, got, avc.empty() ? "-" : avc,
                          audit.empty() ? "-" : audit);
    return std::make_pair(avc, audit);
  };
  // Both layers allow it.
  auto [avc1, tw1] = step("app_t, 8 entries", "app_t", 8, "token=ok map=ok");
  expect.require(avc1.empty() && tw1.find(" deny ") == std::string::npos, "app_t, 8 entries: a layer refused");
  // SELinux allows (limits are the BPF LSM's), the BPF LSM refuses: EPERM, logged by tokenwarden.
  auto [avc2, tw2] = step("app_t, 100 entries", "app_t", 100, "token=ok map=EPERM");
  expect.require(avc2.empty(), "app_t, 100 entries: SELinux refused too: " + avc2);
  expect.require(tw2.find("max_entries over the limit") != std::string::npos, "app_t, 100 entries: not in tokenwarden audit: " + tw2);
  // The BPF LSM allows (the cgroup's profile grants CAP_BPF), SELinux refuses CAP_BPF through
  // mgr_t's token (the `nocap` profile does not grant it): EPERM, logged as an AVC denial.
  auto [avc3, tw3] = step("nocap_t, 8 entries", "nocap_t", 8, "token=ok map=EPERM");
  expect.require(avc3.find("scontext=system_u:system_r:nocap_t") != std::string::npos &&
                     avc3.find("tcontext=system_u:system_r:mgr_t") != std::string::npos && avc3.find("{ bpf }") != std::string::npos,
                 "nocap_t: no SELinux denial of CAP_BPF against mgr_t: " + avc3);
  expect.require(tw3.find(" deny ") == std::string::npos, "nocap_t: tokenwarden refused too: " + tw3);
  sh("/bin/tokenwarden unload");
  return expect.result(detail);
}

// Both kernels: with tokenwarden running in tokenwarden_t (the module's domain), its maps,
// programs and links carry tokenwarden_t, and a domain the module grants nothing on them cannot
// get an fd for them through the pins, even as root with every capability.
Outcome selinux_pins_protected() {
  Expectations expect;
  std::string policy = access("/policy/module.bin", F_OK) == 0 ? "module" : "module-legacy";
  if (std::string s = load_selinux_policy(policy); s != "ok") return fail(s);
  auto tw = [](const std::string& args) {
    return in_domain("tokenwarden_t", [&] {
      auto [rc, out] = sh("/bin/tokenwarden " + args);
      return std::to_string(rc) + (rc ? " " + out : "");
    });
  };
  expect("tokenwarden load, in tokenwarden_t", tw("load /policies/unconfined.tw"), "0");
  std::string detail = "policy " + policy;
  for (const char* pin : {"ctl", "tokens", "events"}) {
    std::string path = std::string("/sys/fs/bpf/tokenwarden/") + pin;
    std::string app = in_domain("app_t", [&] { return outcome_of(obj_get(path)); });
    std::string admin = outcome_of(obj_get(path));  // kernel_t: the tests' unconfined domain
    expect(std::string("app_t opens ") + pin, app, "EACCES");
    expect(std::string("kernel_t opens ") + pin, admin, "ok");
    detail += fmt::format("; {}: app_t {}, kernel_t {}", pin, app, admin);
  }
  // SELinux labels maps and programs, not links: a root process in any domain that can reach
  // the pin gets a link fd (the pins' 0600/0700 modes are what keeps others out). What it can do
  // with it: not detach an LSM link (the kernel has no detach for tracing links).
  std::string link = in_domain("app_t", [] {
    auto fd = obj_get("/sys/fs/bpf/tokenwarden/link_tw_token_create");
    if (!fd) return "open " + errno_name(fd.error().err);
    int rc = bpf_link_detach(fd->get());
    return std::string("open ok, detach ") + (rc == 0 ? "ok" : errno_name(errno));
  });
  expect("app_t and a link pin", link, "open ok, detach EOPNOTSUPP");
  detail += "; link: app_t " + link;
  expect("tokenwarden status, in tokenwarden_t", tw("status").substr(0, 1), "0");
  expect("tokenwarden unload, in tokenwarden_t", tw("unload"), "0");
  return expect.result(detail);
}

// Linux 6.12, the gated variant of the module (delegation-legacy.cil): it loads; SELinux checks
// only the caller's own bpf permissions; every token carries its creator's SID.
Outcome selinux_module_legacy() {
  Expectations expect;
  if (std::string s = load_selinux_policy("module-legacy"); s != "ok") return fail(s);
  token_sid* skel = token_sid::open_and_load();
  if (!skel || token_sid::attach(skel)) return fail("token_sid programs did not load");
  std::string app = delegated_session("mgr_t", "app_t");
  std::string nocap = delegated_session("mgr_t", "nocap_t");
  std::string other = delegated_session("mgr_t", "other_t");
  expect("app_t (granted by the legacy interfaces)", app, "token=ok map=ok prog=ok");
  // Before 7.0 SELinux cannot check a token's capabilities against the delegator.
  expect("nocap_t", nocap, "token=ok map=ok prog=ok");
  // Granted nothing: no CAP_BPF in its own namespace, which BPF_TOKEN_CREATE requires.
  expect("other_t", other, "token=EPERM");

  // The SIDs the kernel stamped, per creating process: tokens carry their creator's SID, the
  // same SID its maps get, and a different one for another domain.
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> by_pid;
  uint32_t key = 0, next = 0;
  const uint32_t* prev = nullptr;
  int fd = bpf_map__fd(skel->maps.sids);
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    uint32_t v[2] = {};
    if (bpf_map_lookup_elem(fd, &key, v) == 0) by_pid[key] = {v[0], v[1]};
  }
  token_sid::destroy(skel);
  std::vector<std::pair<uint32_t, uint32_t>> sessions;
  for (const auto& [pid, s] : by_pid)
    if (s.first) sessions.push_back(s);
  std::string sids;
  for (const auto& [t, m] : sessions) sids += fmt::format(" token={} map={}", t, m);
  // Two creators (app_t, nocap_t), each with a token and a map; other_t never got a token.
  expect.require(sessions.size() == 2, "expected two token creators, saw" + sids);
  if (sessions.size() == 2) {
    for (const auto& [t, m] : sessions) expect.require(t == m, "a token and its creator's map carry different SIDs:" + sids);
    expect.require(sessions[0].first != sessions[1].first, "two domains' tokens carry one SID:" + sids);
  }
  return expect.result("app_t: " + app + "; nocap_t: " + nocap + "; other_t: " + other + "; SIDs:" + sids);
}

}  // namespace twvm
