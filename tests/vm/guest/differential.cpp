// SPDX-License-Identifier: Apache-2.0
// The differential test: one table of decision cases (tests/vm/policies/differential.cases) on
// the reference evaluator and on this kernel, compared case by case.
//
// For each case the guest acts the case out: a process running the case's executable, in its
// cgroup, under its comm, as its uid (the delegated namespace's root maps to that host uid),
// creates a token from a bpffs delegating exactly the case's masks, then performs the operation
// that makes the kernel call the case's hook (creating the maps or programs the case says the
// token already made first). tokenwarden runs with --log-allowed, so every decision it takes is
// an event; the event that decided the operation is the kernel's verdict, compared with what the
// reference evaluator says for the same case. A case the VM cannot act out exactly is a failure
// naming why, never a silent skip.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/cases.h"
#include "compiler/evaluator.h"
#include "compiler/pipeline.h"
#include "guest.h"
#include "kernel/bpf.h"
#include "kernel/enforcer.h"
#include "vocab/names.h"

namespace twvm {
namespace {

using namespace tw::compiler;
using tw::vocab::errno_name;

constexpr const char* kPolicy = "/policies/differential.tw";
constexpr const char* kCases = "/policies/differential.cases";
constexpr const char* kSelf = "/bin/tw-vmtest";
constexpr int kSyncOut = 3;  // in the acting process: "P" when the token and prior objects exist
constexpr int kSyncIn = 4;   // ... and it waits for "G" before the operation itself

// Why the VM cannot act this case out exactly, or "" when it can.
std::string unrealizable(const Event& e) {
  const auto& c = e.creator;
  if (e.preexisting) return "preexisting tokens are covered by the enforce_policy case, not here";
  if (c.selinux_type) return "creator.selinux_type is SELinux's to enforce";
  if (c.exe.empty() || c.exe[0] != '/') return "exe must be an absolute path";
  if (c.comm.empty() || c.comm.size() > 15) return "comm must have 1 to 15 characters";
  if (c.gid != c.uid) return "gid must equal uid (the namespace maps both to one host id)";
  if (e.token.userns_owner != c.uid) return "the user namespace's owner is the creator's uid";
  if (e.token.userns_depth != 1) return "only depth 1 namespaces are set up";
  if (!e.token.bpffs.empty() && e.token.bpffs[0] != '/') return "bpffs must be an absolute path (where the namespace mounts it)";
  if (!c.exe_seen_at.empty() && (c.exe_seen_at[0] != '/' || c.exe == kSelf))
    return "exe_seen_at must be an absolute path, and exe a file of the case's own";
  if (c.exe_replaced && c.exe == kSelf) return "exe_replaced needs an executable of the case's own";
  if (e.hook == Hook::token_cmd && e.cmd != BPF_MAP_CREATE && e.cmd != BPF_PROG_LOAD && e.cmd != BPF_BTF_LOAD)
    return "token_cmd cases use map_create, prog_load or btf_load (the commands that take a token)";
  if (e.hook == Hook::token_capable && e.cap != CAP_BPF && e.cap != CAP_PERFMON && e.cap != CAP_NET_ADMIN)
    return "token_capable cases use CAP_BPF, CAP_PERFMON or CAP_NET_ADMIN";
  if (e.maps_created && e.hook != Hook::map_create) return "maps_created only with map_create";
  if (e.progs_created && e.hook != Hook::prog_load) return "progs_created only with prog_load";
  if (e.tokens_live && e.hook != Hook::token_create) return "tokens_live only with token_create";
  if ((e.uid_tokens_live || e.userns_tokens_live) &&
      (e.uid_tokens_live != e.tokens_live || e.userns_tokens_live != e.tokens_live))
    return "uid_tokens_live and userns_tokens_live equal tokens_live (the live tokens are held as one uid in one namespace)";
  if (e.maps_live && e.hook != Hook::map_create) return "maps_live only with map_create";
  if (e.progs_live && e.hook != Hook::prog_load) return "progs_live only with prog_load";
  return "";
}

// ---- the acting process ----------------------------------------------------------------------

// The case as `key=value` arguments for `tw-vmtest --diff-op`.
std::vector<std::string> act_args(const Event& e) {
  auto n = [](const char* k, uint64_t v) { return fmt::format("{}={}", k, v); };
  return {n("uid", e.creator.uid),        "comm=" + e.creator.comm,      n("cmds", e.token.cmds),
          n("maps", e.token.maps),        n("progs", e.token.progs),     n("attachs", e.token.attachs),
          n("hook", static_cast<int>(e.hook)), n("cmd", e.cmd),          n("cap", static_cast<uint64_t>(e.cap)),
          n("map_type", e.map.type),      n("max_entries", e.map.max_entries), n("key_size", e.map.key_size),
          n("value_size", e.map.value_size), n("map_flags", e.map.flags), n("prog_type", e.prog.type),
          n("attach", e.prog.attach),     n("insns", e.prog.insns),      n("sleepable", e.prog.sleepable),
          n("before", e.maps_created + e.progs_created), n("tokens_live", e.tokens_live),
          n("objects_live", e.maps_live + e.progs_live), "bpffs=" + e.token.bpffs};
}

tw::kernel::ProgSpec prog_of(uint32_t type, uint32_t attach, uint32_t insns, bool sleepable) {
  tw::kernel::ProgSpec p{.type = type, .expected_attach_type = attach};
  if (sleepable) p.flags |= 1U << 4;  // BPF_F_SLEEPABLE
  for (uint32_t i = 1; i < std::max<uint32_t>(insns, 2); ++i)
    p.insns.push_back({.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0});
  p.insns.push_back({.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0});
  return p;
}

// The operation that makes the kernel call the case's hook, with the token.
// The case's map or program (a map_create or prog_load case), made with `token`.
tw::kernel::Result<tw::kernel::UniqueFd> make_object(const std::map<std::string, std::string>& a, int token) {
  auto num = [&](const char* k) { return static_cast<uint32_t>(std::stoull(a.at(k))); };
  if (static_cast<Hook>(num("hook")) == Hook::map_create)
    return tw::kernel::map_create({.type = num("map_type"), .key_size = num("key_size"), .value_size = num("value_size"),
                                   .max_entries = num("max_entries"), .flags = num("map_flags")},
                                  token);
  return tw::kernel::prog_load(prog_of(num("prog_type"), num("attach"), num("insns"), num("sleepable")), token);
}

std::string operate(const std::map<std::string, std::string>& a, int token) {
  auto num = [&](const char* k) { return static_cast<uint32_t>(std::stoull(a.at(k))); };
  auto hook = static_cast<Hook>(num("hook"));
  tw::kernel::MapSpec array{.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1};
  switch (hook) {
    case Hook::token_create:
      return "-";
    case Hook::token_cmd:
      if (num("cmd") == BPF_MAP_CREATE) return outcome_of(tw::kernel::map_create(array, token));
      if (num("cmd") == BPF_PROG_LOAD) return outcome_of(tw::kernel::prog_load(prog_of(BPF_PROG_TYPE_SOCKET_FILTER, 0, 2, false), token));
      return outcome_of(tw::kernel::btf_load(tw::kernel::minimal_btf(), token));
    case Hook::token_capable: {
      if (num("cap") == CAP_BPF) return outcome_of(tw::kernel::map_create(array, token));
      // The verifier asks for CAP_PERFMON, XDP programs for CAP_NET_ADMIN; the case's `prog` when
      // it names one (the program must get past the profile's program type check first).
      auto p = num("cap") == CAP_PERFMON ? prog_of(BPF_PROG_TYPE_SOCKET_FILTER, 0, 2, false) : prog_of(BPF_PROG_TYPE_XDP, BPF_XDP, 2, false);
      if (num("prog_type") != BPF_PROG_TYPE_UNSPEC) p = prog_of(num("prog_type"), num("attach"), 2, false);
      return outcome_of(tw::kernel::prog_load(p, token));
    }
    case Hook::map_create:
    case Hook::prog_load:
      return outcome_of(make_object(a, token));
  }
  return "?";
}

// ---- the kernel's verdict, from tokenwarden's events -------------------------------------------

struct Observed {
  std::vector<tw_event> before, during;  // before: token creation and prior objects
  std::string token, before_result, op;  // syscall outcomes
};

int on_event(void* ctx, void* data, size_t size) {
  if (size >= sizeof(tw_event)) static_cast<std::vector<tw_event>*>(ctx)->push_back(*static_cast<tw_event*>(data));
  return 0;
}

struct Verdict {
  std::optional<Decision> decision;  // unset: nothing decided (`why` says what happened)
  std::string why;
  int hook = -1;  // the deciding event's hook
};

tw::compiler::Outcome outcome_of_event(const tw_event& e) {
  using O = tw::compiler::Outcome;
  return e.verdict == TW_V_DENY ? O::deny : e.verdict == TW_V_AUDIT ? O::audit : O::allow;
}

Verdict kernel_verdict(const Event& c, const Observed& o, const std::map<uint64_t, std::string>& names) {
  auto verdict = [&](const tw_event& e) {
    Decision d;
    d.outcome = outcome_of_event(e);
    auto it = names.find(e.profile_id);
    d.profile = it == names.end() ? "" : it->second;
    d.err = e.err;
    Verdict v{d, std::string(tw::vocab::reason_text(static_cast<int>(e.reason))), static_cast<int>(e.hook)};
    return v;
  };
  const tw_event* created = nullptr;
  for (const auto& e : o.before)
    if (e.hook == TW_HOOK_TOKEN_CREATE) created = &e;
  if (c.hook == Hook::token_create)
    return created ? verdict(*created) : Verdict{std::nullopt, "no bpf_token_create decision (token " + o.token + ")"};
  if (!created) return {std::nullopt, "no bpf_token_create decision (token " + o.token + ")"};
  if (created->verdict == TW_V_DENY) return {std::nullopt, "not reached: the token was refused"};
  if (o.before_result != "ok") return {std::nullopt, "could not make the objects the case assumes: " + o.before_result};
  // The case's hook decides when the operation reached it. An operation that ended before (a
  // map_create or prog_load refused at bpf_token_cmd or bpf_token_capable) is decided by the first
  // check that refused it. (A refused capability need not end an operation: the verifier asks for
  // CAP_PERFMON and, refused, only verifies more strictly.)
  uint32_t own = c.hook == Hook::token_cmd        ? TW_HOOK_TOKEN_CMD
                 : c.hook == Hook::token_capable ? TW_HOOK_TOKEN_CAPABLE
                 : c.hook == Hook::map_create    ? TW_HOOK_MAP_CREATE
                                                 : TW_HOOK_PROG_LOAD;
  uint32_t what = c.hook == Hook::token_cmd ? c.cmd : c.hook == Hook::token_capable ? static_cast<uint32_t>(c.cap) : 0;
  bool per_call = c.hook == Hook::map_create || c.hook == Hook::prog_load;
  const tw_event* decided = nullptr;
  for (const auto& e : o.during)
    if (e.hook == own && (per_call || e.what == what)) {
      decided = &e;
      break;
    }
  if (!decided && per_call)
    for (const auto& e : o.during)
      if (e.verdict != TW_V_ALLOW) {
        decided = &e;
        break;
      }
  if (decided) return verdict(*decided);
  if (created->reason == TW_R_UNCONFINED) return {Decision{}, "unconfined token", -1};
  std::string seen;
  for (const auto& e : o.during) seen += fmt::format(" {}:{}", tw::vocab::hook_name(static_cast<int>(e.hook)), e.what);
  return {std::nullopt, "the hook was not reached (operation " + o.op + "; events" + (seen.empty() ? " none" : seen) + ")"};
}

std::string show(const Decision& d) {
  return fmt::format("{} {}{}", outcome_name(d.outcome), d.profile.empty() ? "-" : d.profile,
                     d.outcome == tw::compiler::Outcome::deny ? " " + errno_name(d.err) : "");
}

// What happened since the load: the cgroup removed and created again (a new id at the same
// path), a new file renamed over the executable (a new inode at the same path). "" or what failed.
std::string after_load(const Creator& c) {
  std::string cg = "/sys/fs/cgroup" + c.cgroup;
  for (uint32_t i = 0; i < c.cgroup_restarts; ++i) {
    struct stat before {};
    stat(cg.c_str(), &before);
    if (rmdir(cg.c_str()) != 0 || mkdir(cg.c_str(), 0755) != 0) return "restart " + cg + ": " + errno_name(errno);
    struct stat after {};
    if (stat(cg.c_str(), &after) != 0 || after.st_ino == before.st_ino) return "restart " + cg + ": the same cgroup id";
  }
  if (c.exe_replaced) {
    struct stat before {};
    stat(c.exe.c_str(), &before);
    std::string next = c.exe + ".dpkg-new";
    std::error_code ec;
    std::filesystem::copy_file(kSelf, next, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec || chmod(next.c_str(), 0755) != 0 || rename(next.c_str(), c.exe.c_str()) != 0) return "replace " + c.exe;
    struct stat after {};
    if (stat(c.exe.c_str(), &after) != 0 || after.st_ino == before.st_ino) return "replace " + c.exe + ": the same inode";
  }
  return "";
}

// Acts one case out; fills `o` from the acting process and the ring buffer.
std::string act(const Event& c, ring_buffer* rb, std::vector<tw_event>& sink, Observed& o) {
  if (std::string why = after_load(c.creator); !why.empty()) return why;
  // A case that counts live tokens starts from none: the kernel frees the tokens of the cases
  // before it from a workqueue, after their processes have exited.
  for (int i = 0; c.tokens_live && i < 100 && tokens_remembered() != 0; ++i) usleep(20 * 1000);
  // Likewise for live maps and programs: the kernel frees them from a workqueue or after an RCU
  // grace period, and only then gives their places back.
  for (int i = 0; (c.maps_live || c.progs_live) && i < 200 && objects_remembered() != 0; ++i) usleep(20 * 1000);
  ring_buffer__consume(rb);
  sink.clear();
  int out[2], sync_out[2], sync_in[2];
  if (pipe(out) || pipe(sync_out) || pipe(sync_in)) return "pipe";
  pid_t pid = fork();
  if (pid == 0) {
    if (!move_to_cgroup(c.creator.cgroup == "/" ? "" : c.creator.cgroup)) _exit(120);
    dup2(out[1], 1);
    dup2(sync_out[1], kSyncOut);
    dup2(sync_in[0], kSyncIn);
    auto args = act_args(c);
    std::string exe = c.creator.exe;
    if (!c.creator.exe_seen_at.empty()) {
      // A mount namespace of its own where another file is bind-mounted at exe_seen_at.
      if (unshare(CLONE_NEWNS) || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
          mount(exe.c_str(), c.creator.exe_seen_at.c_str(), nullptr, MS_BIND, nullptr))
        _exit(122);
      exe = c.creator.exe_seen_at;
    }
    std::vector<char*> argv{const_cast<char*>(exe.c_str()), const_cast<char*>("--diff-op")};
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(121);
  }
  close(out[1]);
  close(sync_out[1]);
  close(sync_in[0]);
  char ch = 0;
  bool synced = read(sync_out[0], &ch, 1) == 1;
  ring_buffer__consume(rb);
  o.before = sink;
  sink.clear();
  if (synced && write(sync_in[1], "G", 1) != 1) synced = false;
  close(sync_in[1]);
  close(sync_out[0]);
  std::string answer = read_answer(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ring_buffer__consume(rb);
  o.during = sink;
  // The acting process prints "token=X before=Y op=Z".
  std::map<std::string, std::string> kv;
  std::istringstream in(answer);
  for (std::string w; in >> w;)
    if (auto eq = w.find('='); eq != std::string::npos) kv[w.substr(0, eq)] = w.substr(eq + 1);
  o.token = kv["token"];
  o.before_result = kv.count("before") ? kv["before"] : "ok";
  o.op = kv["op"];
  if (o.token.empty()) return fmt::format("the acting process said `{}` (status {})", answer, status);
  return "";
}

// Makes the cgroups and executables the cases and the policy name, before the load resolves them.
void prepare(const std::vector<DecisionCase>& cases) {
  for (const auto& c : cases) {
    std::filesystem::create_directories("/sys/fs/cgroup" + c.event.creator.cgroup);
    const std::string& exe = c.event.creator.exe;
    if (!c.event.token.bpffs.empty()) std::filesystem::create_directories(c.event.token.bpffs);
    for (const std::string& file : {exe, c.event.creator.exe_seen_at}) {
      if (file.empty() || file == kSelf) continue;
      std::filesystem::create_directories(std::filesystem::path(file).parent_path());
      if (access(file.c_str(), X_OK) != 0) std::filesystem::copy_file(kSelf, file);
    }
  }
}

}  // namespace

int differential_op(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (auto eq = s.find('='); eq != std::string::npos) a[s.substr(0, eq)] = s.substr(eq + 1);
  }
  auto num = [&](const char* k) { return std::stoull(a.at(k)); };
  tw::kernel::DelegateSpec spec;
  spec.masks.cmds = num("cmds");
  spec.masks.maps = num("maps");
  spec.masks.progs = num("progs");
  spec.masks.attachs = num("attachs");
  if (num("uid") != 0) spec.host_uid = static_cast<uint32_t>(num("uid"));
  spec.mount_at = a["bpffs"];  // "" leaves it detached
  std::string r = in_delegated(spec, [&](tw::kernel::DelegatedMount& m) {
    prctl(PR_SET_NAME, a.at("comm").c_str(), 0, 0, 0);
    // The profile's other live tokens the case assumes, kept open until the process exits.
    std::vector<tw::kernel::UniqueFd> others;
    for (uint64_t i = 0; i < num("tokens_live"); ++i)
      if (auto t = tw::kernel::token_create(m.root_fd.get())) others.push_back(std::move(*t));
      else return "token=setup: token " + std::to_string(i + 1) + " of tokens_live: " + outcome_of(t);
    // The profile's live maps or programs the case assumes, each through a token of its own (so
    // that no per-token quota stops them), kept until the process exits.
    for (uint64_t i = 0; i < num("objects_live"); ++i) {
      auto t = tw::kernel::token_create(m.root_fd.get());
      if (!t) return "token=setup: token for live object " + std::to_string(i + 1) + ": " + outcome_of(t);
      auto o = make_object(a, t->get());
      if (!o) return "token=setup: live object " + std::to_string(i + 1) + ": " + outcome_of(o);
      others.push_back(std::move(*t));
      others.push_back(std::move(*o));
    }
    auto token = tw::kernel::token_create(m.root_fd.get());
    std::string said = "token=" + outcome_of(token);
    if (!token) return said;
    std::string before = "ok";
    for (uint64_t i = 0; i < num("before") && before == "ok"; ++i) before = operate(a, token->get());
    said += " before=" + before;
    char go = 0;
    if (write(kSyncOut, "P", 1) != 1 || read(kSyncIn, &go, 1) != 1) return said + " op=sync";
    return said + " op=" + operate(a, token->get());
  });
  std::printf("%s\n", r.c_str());
  return 0;
}

Outcome differential() {
  auto comp = compile_policy(kPolicy);
  if (!comp.ir) return fail("the policy does not compile");
  SourceSet sources;
  Diagnostics diags;
  auto cases = parse_cases(sources, sources.add(kCases, read_text(kCases)), diags);
  if (diags.has_errors() || cases.empty()) return fail("the case file does not parse");
  std::map<uint64_t, std::string> names;
  for (const auto& p : comp.ir->profiles) names[p.id] = p.name;

  Expectations expect;
  for (const auto& c : cases)
    if (auto why = unrealizable(c.event); !why.empty()) expect.bad.push_back("[" + c.name + "] cannot be acted out: " + why);
  if (!expect.bad.empty()) return expect.result("");
  prepare(cases);

  auto [rc, out] = sh(std::string("/bin/tokenwarden load --log-allowed --events-per-sec 100000 ") + kPolicy);
  if (rc != 0) return fail("load: " + out);
  tw::kernel::UniqueFd events(bpf_obj_get((std::string(tw::kernel::kPinRoot) + "/events").c_str()));
  std::vector<tw_event> sink;
  ring_buffer* rb = events.get() >= 0 ? ring_buffer__new(events.get(), on_event, &sink, nullptr) : nullptr;
  if (!rb) {
    sh("/bin/tokenwarden unload");
    return fail("cannot read the events ring buffer: " + errno_name(errno));
  }

  int agree = 0;
  for (const auto& c : cases) {
    CaseResult evaluated = run_case(*comp.ir, c);  // the evaluator's decision, and whether it meets `expect`
    const Decision& reference = evaluated.got;
    Observed o;
    std::string problem = act(c.event, rb, sink, o);
    Verdict k = problem.empty() ? kernel_verdict(c.event, o, names) : Verdict{std::nullopt, problem};
    std::string kernel = k.decision ? show(*k.decision) : "none (" + k.why + ")";
    if (k.decision && k.hook >= 0 && k.hook != static_cast<int>(c.event.hook))
      kernel += " at " + std::string(tw::vocab::hook_name(k.hook));
    std::string line = fmt::format("[{}] evaluator: {}; kernel: {}", c.name, show(reference), kernel);
    bool same = k.decision && k.decision->outcome == reference.outcome && k.decision->profile == reference.profile;
    // A refusal by the case's own hook returns the policy's errno from the syscall.
    bool own_hook = k.hook == TW_HOOK_TOKEN_CREATE || k.hook == TW_HOOK_MAP_CREATE || k.hook == TW_HOOK_PROG_LOAD;
    if (same && reference.outcome == tw::compiler::Outcome::deny && own_hook) {
      std::string got = k.hook == TW_HOOK_TOKEN_CREATE ? o.token : o.op;
      if (got != errno_name(reference.err)) {
        same = false;
        line += fmt::format("; the syscall returned {}, the policy's errno is {}", got, errno_name(reference.err));
      }
    }
    if (same && !evaluated.passed) line += " (the evaluator disagrees with the case's `expect`)";
    std::printf("TWVM-DIFF %s %s\n", same ? "agree   " : "DISAGREE", line.c_str());
    std::fflush(stdout);
    if (same) ++agree;
    else expect.bad.push_back(line);
    expect.require(evaluated.passed, "[" + c.name + "] the evaluator disagrees with the case's `expect`");
  }
  ring_buffer__free(rb);
  auto [src, status] = sh("/bin/tokenwarden status --json");
  expect.require(status.find("\"dropped_ratelimit\": 0") != std::string::npos &&
                     status.find("\"dropped_ringbuf\": 0") != std::string::npos,
                 "events were dropped, so verdicts may be missing: " + status);
  auto [urc, uout] = sh("/bin/tokenwarden unload");
  expect("unload", std::to_string(urc), "0");
  return expect.result(fmt::format("{} of {} cases: the evaluator and this kernel agree", agree, cases.size()));
}

}  // namespace twvm
