// SPDX-License-Identifier: Apache-2.0
// tokenwarden why EVENTS... [--policy P] [--pid N] [--unit U] [--since T] [--until T]: which layer
// refused a process's BPF operations. tokenwarden's refusals are in the recorded events, with the
// rule that decided them (the events replayed under the policy, compiler/replay.h); SELinux's are
// AVCs of class bpf in the kernel log and the audit log; what neither refused was refused by the
// kernel itself: the bpffs delegation (the token's, from its creation's event) or a capability
// the process lacks in the token's user namespace.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "commands.h"
#include "compiler/replay.h"
#include "output.h"
#include "policy_cli.h"
#include "vocab/catalogue.h"
#include "vocab/names.h"

namespace tw::tools {
namespace {

struct Args {
  std::vector<std::string> events;
  std::string policy;
  uint32_t pid = 0;
  std::string unit, since, until;
  std::vector<std::string> logs;  // kernel and audit logs; default /dev/kmsg and /var/log/audit/audit.log
  PolicyOptions o;
};

// Lines of a log; /dev/kmsg is read up to its end without blocking.
std::vector<std::string> log_lines(const std::string& path) {
  std::vector<std::string> out;
  if (path == "/dev/kmsg") {
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[8192];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.emplace_back(buf, static_cast<size_t>(n));
    ::close(fd);
    return out;
  }
  std::ifstream in(path);
  for (std::string l; std::getline(in, l) && out.size() < 1000000;) out.push_back(l);
  return out;
}

// An AVC denial of class bpf: "avc:  denied  { map_create } for  pid=42 comm="x" scontext=...".
struct Avc {
  uint32_t pid = 0;
  std::string text;
};
std::vector<Avc> bpf_avcs(const std::vector<std::string>& logs) {
  static const std::regex avc(R"(avc:\s+denied\s+\{[^}]*\}.*tclass=bpf\b)");
  static const std::regex pid(R"(\bpid=(\d+))");
  std::vector<Avc> out;
  for (const auto& path : logs)
    for (const auto& line : log_lines(path)) {
      std::smatch m;
      if (!std::regex_search(line, m, avc)) continue;
      Avc a;
      a.text = m.str(0);
      if (std::smatch p; std::regex_search(line, p, pid)) a.pid = static_cast<uint32_t>(std::stoul(p.str(1)));
      out.push_back(a);
    }
  return out;
}

std::string delegation(const compiler::Event& e) {
  auto names = [](vocab::EnumKind k, uint64_t m) {
    std::string s = vocab::mask_names(k, m, ",");
    return s.empty() ? std::string("none") : s;
  };
  return fmt::format("cmds={} maps={} progs={} attachs={}", names(vocab::EnumKind::cmd, e.token.cmds),
                     names(vocab::EnumKind::map, e.token.maps), names(vocab::EnumKind::prog, e.token.progs),
                     names(vocab::EnumKind::attach, e.token.attachs));
}

int run(const Args& a) {
  begin_document("why", {"policy", "refusals", "selinux", "delegations", "diagnostics", "diagnostics_not_shown"});
  document()["policy"] = a.policy.empty() ? nlohmann::json() : nlohmann::json(a.policy);
  std::optional<compiler::Ir> ir;
  if (!a.policy.empty()) {
    auto loaded = load_ir(a.policy, a.o);
    if (!loaded) return loaded.exit_code();
    ir = std::move(loaded->ir);
  }
  compiler::SourceSet sources;
  compiler::Diagnostics diags;
  auto log = read_event_files(a.events, sources, diags);
  report_diagnostics(diags, sources);
  if (!log) return kExitPolicyError;
  // Each token's creation, for the unit filter and the delegation; the replay, for the rules.
  std::map<uint64_t, const compiler::RecordedEvent*> created;
  for (const auto& r : log->events)
    if (r.event.hook == compiler::Hook::token_create) created[r.token] = &r;
  std::optional<compiler::ReplayReport> rep;
  if (ir) rep = compiler::replay(*ir, *log);
  auto wanted = [&](const compiler::RecordedEvent& r) {
    if (a.pid && r.tgid != a.pid && r.tid != a.pid) return false;
    if (!a.since.empty() && r.time < a.since) return false;
    if (!a.until.empty() && r.time.compare(0, a.until.size(), a.until) > 0) return false;
    if (!a.unit.empty()) {
      auto c = created.find(r.token);
      if (c == created.end() || !c->second->cgroup_known) return false;
      const std::string& cg = c->second->event.creator.cgroup;
      if (cg.size() < a.unit.size() + 1 || cg.compare(cg.size() - a.unit.size(), a.unit.size(), a.unit) != 0 ||
          cg[cg.size() - a.unit.size() - 1] != '/')
        return false;
    }
    return true;
  };
  nlohmann::json refusals = nlohmann::json::array(), delegations = nlohmann::json::array();
  std::set<uint32_t> pids;
  std::set<uint64_t> tokens;
  // Refusals of one kind, by process, hook, request, profile, rule and reason.
  struct Group {
    std::string first, last;
    size_t count = 0;
    std::string comm;
  };
  using Key = std::tuple<uint32_t, std::string, std::string, std::string, std::string, std::string>;
  std::map<Key, Group> groups;
  std::vector<Key> order;
  for (size_t i = 0; i < log->events.size(); ++i) {
    const auto& r = log->events[i];
    if (!wanted(r)) continue;
    pids.insert(r.tgid);
    tokens.insert(r.token);
    if (r.verdict != compiler::Outcome::deny) continue;
    std::string rule, why = r.reason;
    if (rep && rep->events[i].decided) {
      rule = rep->events[i].now.rule;
      if (rep->events[i].now.outcome == compiler::Outcome::deny) why = rep->events[i].now.reason;
      else why += fmt::format(" (the policy given decides {}: is it the one loaded then?)",
                              compiler::outcome_name(rep->events[i].now.outcome));
    }
    std::string hook(compiler::hook_name(r.event.hook)), what = compiler::event_what(r.event);
    auto key = std::make_tuple(r.tgid, hook, what, r.profile, rule, why);
    auto [it, fresh] = groups.emplace(key, Group{r.time, r.time, 0, r.event.creator.comm});
    it->second.last = r.time;
    ++it->second.count;
    if (fresh) order.push_back(key);
  }
  for (const auto& key : order) {
    const auto& [pid, hook, what, profile, rule, why] = key;
    const Group& g = groups.at(key);
    bool cap = hook == "bpf_token_capable";
    refusals.push_back({{"layer", "tokenwarden"}, {"first", g.first}, {"last", g.last}, {"count", g.count}, {"pid", pid},
                        {"comm", g.comm}, {"hook", hook}, {"what", what},
                        {"profile", profile.empty() ? nlohmann::json() : nlohmann::json(profile)},
                        {"rule", rule.empty() ? nlohmann::json() : nlohmann::json(rule)}, {"reason", why}});
    if (!json_output())
      fmt::print("pid {} ({}): {} {}: refused by tokenwarden{}, profile `{}`{}: {} ({}, {})\n", pid, g.comm, hook, what,
                 cap ? " (a capability check: the operation goes on without that privilege if it can)" : "",
                 profile.empty() ? "-" : profile, rule.empty() ? "" : ", rule " + rule, why,
                 g.count == 1 ? "once" : fmt::format("{} times", g.count), g.count == 1 ? g.first : g.first + " to " + g.last);
  }
  nlohmann::json selinux = nlohmann::json::array();
  std::vector<std::string> logs = a.logs;
  if (logs.empty()) logs = {"/dev/kmsg", "/var/log/audit/audit.log"};
  for (const auto& avc : bpf_avcs(logs)) {
    if (a.pid ? avc.pid != a.pid : !pids.empty() && !pids.contains(avc.pid)) continue;
    selinux.push_back({{"layer", "selinux"}, {"pid", avc.pid}, {"avc", avc.text}});
    if (!json_output()) fmt::print("pid {}: refused by SELinux: {}\n", avc.pid, avc.text);
  }
  for (uint64_t t : tokens) {
    auto c = created.find(t);
    if (c == created.end()) continue;
    const auto& r = *c->second;
    delegations.push_back({{"token", fmt::format("{:#x}", t)}, {"pid", r.tgid}, {"delegates", delegation(r.event)}});
    if (!json_output())
      fmt::print("token {:#x} of pid {}: its bpffs delegates {}; what it does not delegate the kernel refuses before any LSM "
                 "is asked (no event, EPERM)\n",
                 t, r.tgid, delegation(r.event));
  }
  if (!json_output() && refusals.empty() && selinux.empty())
    fmt::print("neither tokenwarden nor SELinux refused anything{}: a failure is the kernel's own, from the delegation "
               "above or a capability the process lacks in the token's user namespace (libbpf's \"failed (-22) to create "
               "BPF token\" is a bpffs that delegates nothing, or is not owned by the process's user namespace)\n",
               a.pid ? fmt::format(" of pid {}", a.pid) : "");
  auto& j = document();
  j["refusals"] = std::move(refusals);
  j["selinux"] = std::move(selinux);
  j["delegations"] = std::move(delegations);
  return kExitOk;
}

}  // namespace

void register_why(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("why", "Say which layer refused a process's BPF operations: tokenwarden, SELinux or the kernel");
  cmd->footer(
      "tokenwarden's refusals come from EVENTS (`audit --json`), with their rule when --policy names the\n"
      "policy loaded then; SELinux's from AVCs of class bpf in the kernel and audit logs; the token's bpffs\n"
      "delegation from its creation's event.\n"
      "Example:\n  tokenwarden why events.jsonl --policy /etc/tokenwarden/policy.tw --unit flowlogd.service");
  static Args a;
  cmd->add_option("EVENTS", a.events, "Recorded event files")->required();
  cmd->add_option("-p,--policy", a.policy, "The policy the events were decided under, for the rules");
  cmd->add_option("--pid", a.pid, "Only this process (or thread)");
  cmd->add_option("--unit", a.unit, "Only tokens created in this unit's cgroup (NAME.service)");
  cmd->add_option("--since", a.since, "Only events at or after this UTC time (2026-12-04T02:00:00)");
  cmd->add_option("--until", a.until, "Only events up to this UTC time");
  cmd->add_option("--log", a.logs, "Kernel or audit logs to search for AVCs (default: /dev/kmsg and /var/log/audit/audit.log)");
  add_target_option(cmd, a.o);
  cmd->callback([&exit_code] { exit_code = run(a); });
}

}  // namespace tw::tools
