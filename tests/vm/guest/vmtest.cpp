// SPDX-License-Identifier: Apache-2.0
// tw-vmtest: runs VM test cases inside the guest and prints one machine-readable line per case:
//   TWVM-KERNEL <uname -r>
//   TWVM-RESULT <case> PASS|FAIL|SKIP <detail on one line>
// The host (tests/vm/vmrun.py) turns each line into its own ctest result. Cases run in the
// order given; SELinux cases load a policy and switch to enforcing, so they come last.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "harness_deny_cmd.skel.h"
#include "floor_hooks.skel.h"
#include "trivial_hooks.skel.h"
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel/bpf.h"
#include "kernel/bpffs.h"
#include "kernel/probes.h"
#include "guest.h"
#include "vocab/catalogue.h"
#include "vocab/names.h"

using namespace tw::kernel;
using namespace tw::vocab;
using namespace twvm;

namespace {

// Creates a token in a delegated user namespace (map_create, array) and tries a token-backed
// array map; returns "ok" or the errno name, or "setup:<error>".
std::string token_map_create() {
  DelegateSpec spec;
  spec.masks.cmds = 1ULL << BPF_MAP_CREATE;
  spec.masks.maps = 1ULL << BPF_MAP_TYPE_ARRAY;
  return in_delegated(spec, [](DelegatedMount& m) {
    auto token = token_create(m.root_fd.get());
    return token ? outcome_of(map_create({}, token->get())) : "token:" + errno_name(token.error().err);
  });
}

Outcome bpf_lsm_active() {
  std::string lsm = read_text("/sys/kernel/security/lsm");
  return lsm.find("bpf") != std::string::npos ? pass("lsm=" + lsm) : fail("lsm=" + lsm);
}

// The static tokenwarden binary in the guest: `doctor` must exit 0 here (the host says 3).
Outcome doctor_can_enforce() {
  int status = std::system("/bin/tokenwarden doctor --json > /tmp/doctor.json 2>&1");
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  Probes probes;
  std::string blockers;
  for (const auto& b : probes.enforcement_blockers()) blockers += b.id + "(" + b.value + ") ";
  std::string detail = fmt::format("tokenwarden doctor exit {}; bpf_map_create hook {}", code,
                                   probes.hook("bpf_map_create").value);
  if (!blockers.empty()) detail += "; blockers: " + blockers;
  return code == 0 && blockers.empty() ? pass(detail) : fail(detail + "; " + read_text("/tmp/doctor.json"));
}

// The catalogue knows every name and value of this kernel's enums (bpf_cmd, bpf_map_type,
// bpf_prog_type, bpf_attach_type): a test kernel with names we lack fails here, naming them, so
// the catalogue follows the kernels we test on.
Outcome catalogue_complete() {
  Probes probes;
  const auto& r = probes.catalogue();
  std::string detail = fmt::format("{} ({})", r.value, verdict_name(r.verdict));
  return r.verdict == Verdict::ok ? pass(detail) : fail(detail);
}

Outcome token_cmd_deny() {
  std::string before = token_map_create();
  if (before != "ok") return fail("without the program, token map create gave " + before);

  harness_deny_cmd* skel = harness_deny_cmd::open();
  if (!skel) return fail("open skeleton: " + errno_name(errno));
  skel->rodata->target_tgid = static_cast<__u32>(getpid());
  skel->rodata->denied_cmd = BPF_MAP_CREATE;
  if (int err = harness_deny_cmd::load(skel)) {
    harness_deny_cmd::destroy(skel);
    return fail("load: " + errno_name(-err));
  }
  if (int err = harness_deny_cmd::attach(skel)) {
    harness_deny_cmd::destroy(skel);
    return fail("attach: " + errno_name(-err));
  }
  std::string during = token_map_create();
  __u64 denials = skel->bss->denials;
  // A map created without a token by this (root) process is not the hook's business.
  std::string plain = outcome_of(map_create({}));
  harness_deny_cmd::destroy(skel);
  std::string after = token_map_create();

  std::string detail = fmt::format("before={} attached={} denials={} plain={} detached={}", before,
                                   during, denials, plain, after);
  bool ok = during == "EPERM" && denials >= 1 && plain == "ok" && after == "ok";
  return ok ? pass(detail) : fail(detail);
}

// ---- enforcement: tokenwarden load/status/audit/unload with the product's BPF programs ----------

Outcome enforce_policy() {
  Expectations expect;

  // The policy names these cgroups: they must exist when `load` resolves them.
  for (const char* cg : {"/tw-maps", "/tw-refused", "/tw-audit", "/tw-none"})
    mkdir((std::string("/sys/fs/cgroup") + cg).c_str(), 0755);

  // A token made before the policy: it must be refused afterwards (preexisting deny).
  int go[2], done[2];
  if (pipe(go) != 0 || pipe(done) != 0) return fail("pipe");
  pid_t early = fork();
  if (early == 0) {
    close(go[1]);
    close(done[0]);
    std::string r = token_session("/tw-maps", [&](int fd) {
      char c;
      std::string before = map_outcome(fd, BPF_MAP_TYPE_ARRAY, 4);
      if (read(go[0], &c, 1) != 1) return std::string("no go");
      return "before=" + before + " after=" + map_outcome(fd, BPF_MAP_TYPE_ARRAY, 4);
    });
    if (write(done[1], r.data(), r.size()) < 0) _exit(2);
    _exit(0);
  }
  close(go[0]);
  close(done[1]);
  usleep(300 * 1000);  // the early token exists before the load

  auto [load_rc, load_out] = sh("/bin/tokenwarden load /policies/enforce.tw");
  if (load_rc != 0) {
    kill(early, SIGKILL);
    return fail("load exit " + std::to_string(load_rc) + ": " + load_out);
  }
  if (write(go[1], "g", 1) != 1) return fail("go");
  close(go[1]);
  std::string early_result = read_answer(done[0]);
  waitpid(early, nullptr, 0);
  expect("token made before the load", early_result, "token=ok before=ok after=EPERM");

  expect("maps-only", token_session("/tw-maps", [](int fd) {
           // One statement per operation: the order matters (a quota), and `a + f() + g()` has none.
           std::string r = "small=" + map_outcome(fd, BPF_MAP_TYPE_ARRAY, 16);
           r += " big=" + map_outcome(fd, BPF_MAP_TYPE_ARRAY, 100);
           r += " hash=" + map_outcome(fd, BPF_MAP_TYPE_HASH, 4);
           r += " second=" + map_outcome(fd, BPF_MAP_TYPE_ARRAY, 8);
           r += " third=" + map_outcome(fd, BPF_MAP_TYPE_ARRAY, 8);
           return r;
         }),
         "token=ok small=ok big=EPERM hash=EPERM second=ok third=EPERM");
  expect("refused", token_session("/tw-refused", [](int) { return std::string("-"); }), "token=EACCES");
  // Calls without a token are not the policy's business, whatever else is loaded.
  expect("map without a token, as root", outcome_of(map_create({.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 4})), "ok");
  expect("program without a token, as root", outcome_of(prog_load({.type = BPF_PROG_TYPE_SOCKET_FILTER})), "ok");
  expect("no profile", token_session("/tw-none", [](int) { return std::string("-"); }), "token=EPERM");
  expect("audited", token_session("/tw-audit", [](int fd) { return "hash=" + map_outcome(fd, BPF_MAP_TYPE_HASH, 4); }),
         "token=ok hash=ok");

  auto [again_rc, again_out] = sh("/bin/tokenwarden load /policies/enforce.tw");
  expect("a second load (already loaded: its own exit code)", std::to_string(again_rc), "4");
  expect("still enforcing after the refused second load",
         token_session("/tw-none", [](int) { return std::string("-"); }), "token=EPERM");

  auto [st_rc, st_out] = sh("/bin/tokenwarden status --json");
  if (st_rc != 0 || st_out.find("\"policy\": \"vm-enforce\"") == std::string::npos)
    expect.bad.push_back("status: " + st_out);
  // maps-only's counters: its tokens are gone, their allowed uses folded into the profile's
  // (small, second), the refusals counted as they happened (big, hash, third); no live token.
  try {
    auto j = nlohmann::json::parse(st_out);
    std::string got = "none";
    for (const auto& c : j.at("counters"))
      if (c.at("profile") == "maps-only") {
        const auto& h = c.at("hooks").at("bpf_map_create");
        got = fmt::format("allowed={} denied={} live={}", h.at("allowed").get<uint64_t>(), h.at("denied").get<uint64_t>(),
                          c.at("live_tokens").get<int64_t>());
      }
    expect("maps-only's bpf_map_create counters", got, "allowed=2 denied=3 live=0");
  } catch (const std::exception& e) {
    expect.bad.push_back(std::string("status --json: ") + e.what());
  }
  auto [au_rc, au_out] = sh("/bin/tokenwarden audit");
  for (const char* reason : {"max_entries over the limit", "map type not allowed", "maps per token over the limit",
                             "the profile refuses tokens", "no profile matches; default deny",
                             "the token predates the policy; preexisting deny"})
    expect.require(au_out.find(reason) != std::string::npos, std::string("audit lacks `") + reason + "`");
  expect.require(au_out.find("audit bpf_map_create") != std::string::npos, "audit lacks the audit-mode event");

  auto [un_rc, un_out] = sh("/bin/tokenwarden unload");
  expect("unload", std::to_string(un_rc), "0");
  expect("after unload", token_session("/tw-none", [](int fd) { return "hash=" + map_outcome(fd, BPF_MAP_TYPE_HASH, 4); }),
         "token=ok hash=ok");
  expect("nothing pinned after unload", std::to_string(access("/sys/fs/bpf/tokenwarden", F_OK)), "-1");

  std::string detail = "load: " + load_out.substr(0, load_out.find('\n'));
  if (!expect.bad.empty()) return expect.result(" | status: " + st_out + " | audit: " + au_out);
  return pass(detail + "; audit lines: " + std::to_string(std::count(au_out.begin(), au_out.end(), '\n')));
}

// Creates and drops `n` tokens in one delegated namespace, as a task in cgroup `cg`.
std::string token_cycles(const std::string& cg, int n) {
  if (!move_to_cgroup(cg)) return "setup:cgroup";
  DelegateSpec spec;
  spec.masks.cmds = 1ULL << BPF_MAP_CREATE;
  spec.masks.maps = 1ULL << BPF_MAP_TYPE_ARRAY;
  std::string answer = in_delegated(spec, [&](DelegatedMount& m) {
    int ok = 0;
    std::string first_error;
    for (int i = 0; i < n; ++i) {
      auto t = token_create(m.root_fd.get());
      if (t) ++ok;
      else if (first_error.empty()) first_error = " first error " + errno_name(t.error().err);
    }
    return std::to_string(ok) + " ok" + first_error;
  });
  move_to_cgroup("");
  return answer;
}

Outcome enforce_lifecycle() {
  Expectations expect;
  expect.log = true;
  for (const char* cg : {"/tw-worker", "/tw-retired", "/tw-other"}) mkdir((std::string("/sys/fs/cgroup") + cg).c_str(), 0755);
  if (auto [rc, out] = sh("/bin/tokenwarden load --token-capacity 4 /policies/lifecycle-a.tw"); rc != 0)
    return fail("load: " + out);

  {
    TokenHolder worker("/tw-worker"), retired("/tw-retired");
    if (!worker.ready() || !retired.ready()) return fail("token holders did not start");
    expect("A: worker array", worker.op('a'), "ok");
    expect("A: worker hash", worker.op('h'), "EPERM");
    expect("A: retired array", retired.op('a'), "ok");

    // Replace: the worker's token keeps its profile and gets B's grants; `retired` is gone, so its
    // token is treated like one from before the policy (preexisting deny).
    auto [rc, out] = sh("/bin/tokenwarden replace /policies/lifecycle-b.tw");
    expect("replace exit", std::to_string(rc), "0");
    expect("B: worker hash", worker.op('h'), "ok");
    expect("B: retired array", retired.op('a'), "EPERM");

    // A damaged artifact is refused and B stays in force.
    sh("/bin/tokenwarden compile /policies/lifecycle-a.tw -o /tmp/a.twp && sed -i 's/\"array\"/\"arrax\"/; s/lifecycle-a/lifecycle-x/' /tmp/a.twp");
    auto [brc, bout] = sh("/bin/tokenwarden replace /tmp/a.twp");
    expect("damaged artifact exit", std::to_string(brc), "1");
    expect("B still in force", worker.op('h'), "ok");

    // 100 replaces between A and B while the worker keeps asking: arrays are always allowed,
    // ring buffers never, hash maps by whichever policy is live; nothing else may come out.
    pid_t flipper = fork();
    if (flipper == 0) {
      for (int i = 0; i < 100; ++i)
        if (sh(std::string("/bin/tokenwarden replace /policies/lifecycle-") + (i % 2 ? "b" : "a") + ".tw").first != 0) _exit(1);
      _exit(0);
    }
    int ops = 0, flipper_status = 0;
    while (waitpid(flipper, &flipper_status, WNOHANG) == 0) {
      std::string a = worker.op('a'), h = worker.op('h'), r = worker.op('r');
      ++ops;
      expect.require(a == "ok" && r == "EPERM" && (h == "ok" || h == "EPERM"),
                     "during replaces: array=" + a + " hash=" + h + " ringbuf=" + r);
    }
    expect("100 replaces", std::to_string(WIFEXITED(flipper_status) ? WEXITSTATUS(flipper_status) : -1), "0");
    expect.require(ops >= 5, "only " + std::to_string(ops) + " operation rounds during the replaces");
    if (expect.bad.size() > 20) expect.bad.resize(20);

    // Drain the ring buffer (nobody read it during the storm above; it is bounded and drops).
    sh("/bin/tokenwarden audit > /dev/null");
    // The token table holds 4, all shared (no profile reserves any): two are held here, two
    // more fit, the fifth fails closed.
    TokenHolder t3("/tw-worker"), t4("/tw-worker");
    expect("third and fourth tokens", std::to_string(t3.ready() && t4.ready()), "1");
    expect("fifth token", token_session("/tw-worker", [](int) { return std::string("-"); }), "token=ENOSPC");
    auto [arc, aout] = sh("/bin/tokenwarden audit");
    expect.require(aout.find("the token table's shared slots are all taken (fails closed)") != std::string::npos,
                   "audit lacks the full-table refusal: " + aout);
    if (!expect.bad.empty()) {
      sh("/bin/tokenwarden unload");  // the cases after this one load their own policies
      return expect.result("");
    }
  }
  // Every holder is gone: their tokens are freed (from a workqueue) and forgotten.
  for (int i = 0; i < 100 && tokens_remembered() != 0; ++i) usleep(20 * 1000);
  expect("tokens remembered after the holders exit", std::to_string(tokens_remembered()), "0");

  sh("/bin/tokenwarden unload");

  // 10,000 create/free cycles: the table ends where it started (frees are deferred by the kernel,
  // so this runs with the default capacity and waits for them).
  if (auto [rc, out] = sh("/bin/tokenwarden load /policies/lifecycle-b.tw"); rc != 0) return fail("reload: " + out);
  long before = tokens_remembered();
  std::string cycles = token_cycles("/tw-worker", 10000);
  for (int i = 0; i < 250 && tokens_remembered() != before; ++i) usleep(20 * 1000);
  long after = tokens_remembered();
  sh("/bin/tokenwarden unload");
  expect("10000 create/free cycles", cycles, "10000 ok");
  expect("tokens remembered after the cycles", std::to_string(after), std::to_string(before));
  return expect.result("replace keeps labels, 100 replaces under load saw only A or B, full table fails closed, "
              "damaged artifact refused, 10000 create/free cycles leave " + std::to_string(after) + " tokens");
}

// ---- the main job's demo (scripts/demo.sh runs it in the VM when the host cannot enforce) -----

void say(const std::string& text) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() || nl != std::string::npos) std::printf("TWVM-DEMO %s\n", line.c_str());
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  std::fflush(stdout);
}

std::string prog_outcome(int token_fd, uint32_t type, uint32_t attach) {
  return outcome_of(prog_load({.type = type, .expected_attach_type = attach}, token_fd));
}

// What flowlogd does with its token (run as /usr/lib/flowlogd/flowlogd, in its unit's cgroup).
Outcome demo_workload_flowlogd() {
  auto run = [](const std::string& what, DelegationMasks masks, const std::function<std::string(int)>& ops) {
    DelegateSpec spec;
    spec.masks = masks;
    return in_delegated(spec, [&](DelegatedMount& m) {
      auto token = token_create(m.root_fd.get());
      std::string r = "  " + what + "\n    BPF_TOKEN_CREATE: " + (token ? std::string("ok") : errno_name(token.error().err)) + "\n";
      if (token) r += ops(token->get());
      return r;
    });
  };
  DelegationMasks unit;  // what the unit's BPFDelegate*= settings delegate
  unit.cmds = (1ULL << BPF_MAP_CREATE) | (1ULL << BPF_PROG_LOAD) | (1ULL << BPF_BTF_LOAD);
  unit.maps = (1ULL << BPF_MAP_TYPE_RINGBUF) | (1ULL << BPF_MAP_TYPE_ARRAY);
  unit.progs = 1ULL << BPF_PROG_TYPE_CGROUP_SKB;
  unit.attachs = (1ULL << BPF_CGROUP_INET_INGRESS) | (1ULL << BPF_CGROUP_INET_EGRESS);
  auto row = [](const std::string& what, const std::string& outcome, const std::string& why = "") {
    return fmt::format("    {:<32} {:<6}{}\n", what + ":", outcome, why.empty() ? "" : "  <- " + why);
  };
  std::string out = run("flowlogd, delegated exactly what its profile allows:", unit, [&](int fd) {
    std::string r = row("ring buffer (256 KiB)", outcome_of(map_create({.type = BPF_MAP_TYPE_RINGBUF, .key_size = 0,
                                                                          .value_size = 0, .max_entries = 262144}, fd)));
    for (int i = 2; i <= 9; ++i)
      r += row("array map #" + std::to_string(i), map_outcome(fd, BPF_MAP_TYPE_ARRAY, 16), i == 9 ? "`limit maps 8`" : "");
    r += row("cgroup_skb program, ingress", prog_outcome(fd, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS));
    r += row("cgroup_skb program, egress", prog_outcome(fd, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS));
    r += row("a third program", prog_outcome(fd, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS), "`limit progs 2`");
    return r;
  });
  DelegationMasks widened = unit;
  widened.progs |= 1ULL << BPF_PROG_TYPE_KPROBE;
  out += run("flowlogd, after someone added BPFProgTypeKprobe to the unit (the profile is strict):", widened,
             [](int) { return std::string(); });
  say(out);
  return pass("transcript printed");
}

// The TWVM-DEMO lines of a captured output, printed again (to the console).
void relay_demo_lines(const std::string& captured) {
  size_t pos = 0;
  while ((pos = captured.find("TWVM-DEMO ", pos)) != std::string::npos) {
    size_t nl = captured.find('\n', pos);
    std::printf("%s\n", captured.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos).c_str());
    pos = nl == std::string::npos ? captured.size() : nl + 1;
  }
  std::fflush(stdout);
}

// In the guest the paths are the initramfs's; scripts/demo.sh runs the same case on a host that
// can enforce, with TW_DEMO_TOKENWARDEN and TW_DEMO_EXAMPLES pointing into the build.
std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

Outcome demo() {
  const std::string tw = env_or("TW_DEMO_TOKENWARDEN", "/bin/tokenwarden");
  const std::string examples = env_or("TW_DEMO_EXAMPLES", "/examples");
  char self[4096] = {};
  if (readlink("/proc/self/exe", self, sizeof self - 1) < 0) return fail("readlink /proc/self/exe");
  say("policy examples/systemd-service.tw:");
  say(read_text(examples + "/systemd-service.tw"));
  for (const char* d : {"/usr", "/usr/lib", "/usr/lib/flowlogd"}) mkdir(d, 0755);
  sh(std::string("cp ") + self + " /usr/lib/flowlogd/flowlogd");
  mkdir("/sys/fs/cgroup/system.slice", 0755);
  mkdir("/sys/fs/cgroup/system.slice/flowlogd.service", 0755);
  mkdir("/sys/fs/cgroup/user.slice", 0755);

  auto [crc, cout] = sh(tw + " compile " + examples + "/systemd-service.tw -o /tmp/flowlogd.twp");
  say("$ tokenwarden compile examples/systemd-service.tw -o flowlogd.twp\n" + cout);
  auto [lrc, lout] = sh(tw + " load /tmp/flowlogd.twp");
  say("$ tokenwarden load flowlogd.twp\n" + lout);
  if (crc != 0 || lrc != 0) return fail("compile/load failed: " + cout + lout);

  // The unit's main process: its executable and its cgroup make it `flowlogd`.
  auto [wrc, wout] = sh("sh -c 'echo $$ > /sys/fs/cgroup/system.slice/flowlogd.service/cgroup.procs && "
                        "exec /usr/lib/flowlogd/flowlogd demo_workload_flowlogd'");
  say("what flowlogd's token may do (each line is a bpf() call and its outcome):");
  relay_demo_lines(wout);

  auto [orc, oout] = sh("sh -c 'echo $$ > /sys/fs/cgroup/user.slice/cgroup.procs && exec /usr/lib/flowlogd/flowlogd demo_workload_flowlogd'");
  std::string other;
  for (size_t pos = 0; (pos = oout.find("BPF_TOKEN_CREATE: ", pos)) != std::string::npos; pos += 18)
    if (other.empty()) other = oout.substr(pos + 18, oout.find_first_of(" \n", pos + 18) - pos - 18);
  say("the same binary started outside the unit's cgroup: BPF_TOKEN_CREATE: " + other + " (no profile, default deny)");

  auto [arc, aout] = sh(tw + " audit");
  say("$ tokenwarden audit   (the CAP_PERFMON refusals are the verifier asking while it checks the\n"
      "  cgroup_skb programs: the profile does not grant CAP_PERFMON, so they load without it)\n" + aout);
  auto [src, sout] = sh(tw + " status");
  say("$ tokenwarden status\n" + sout);
  sh(tw + " unload");
  // What the demo claims must be what happened.
  std::vector<std::string> missing;
  auto has = [&](const std::string& text, const std::string& what) {
    if (text.find(what) == std::string::npos) missing.push_back(what);
  };
  has(wout, "BPF_TOKEN_CREATE: ok");
  has(wout, "array map #8:                    ok");
  has(wout, "array map #9:                    EPERM");
  has(wout, "a third program:                 EPERM");
  has(wout, "cgroup_skb program, egress:      ok");
  has(wout, "strict):\nTWVM-DEMO     BPF_TOKEN_CREATE: EPERM");
  has(other, "EPERM");
  has(aout, "maps per token over the limit (9 > 8)");
  has(aout, "programs per token over the limit (3 > 2)");
  has(aout, "strict profile: the bpffs delegates more than the profile grants");
  has(aout, "no profile matches; default deny");
  has(sout, "policy `flowlogd` generation 1");
  // Leave nothing behind (on a host this is someone's file system).
  sh("rm -f /usr/lib/flowlogd/flowlogd /tmp/flowlogd.twp; rmdir /usr/lib/flowlogd 2>/dev/null; "
     "rmdir /sys/fs/cgroup/system.slice/flowlogd.service 2>/dev/null");
  if (!missing.empty()) {
    std::string all;
    for (const auto& m : missing) all += "`" + m + "` ";
    return fail("the demo did not show " + all);
  }
  return pass("demo shown: allowed and refused calls, strict refusal, default deny, audit lines, status");
}

// ---- self-protection: what a token holder can do to tokenwarden's own objects --------------------

std::string errno_of(int rc) { return rc >= 0 ? "ok" : errno_name(errno); }

struct OurIds {
  uint32_t map = 0, link = 0, prog = 0;
};

// A token-backed fmod_ret program on `target` (returns 1: "allowed" to bpf_token_capable's `< 0`
// test, and it skips every LSM behind it). "load=..., attach=...".
std::string fmod_ret_attack(int token, const char* target) {
  btf* vmlinux = btf__load_vmlinux_btf();
  int id = vmlinux ? btf__find_by_name_kind(vmlinux, target, BTF_KIND_FUNC) : -1;
  btf__free(vmlinux);
  if (id <= 0) return "load=no-btf-id";
  bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 1},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_MODIFY_RETURN, .prog_flags = BPF_F_TOKEN_FD,
              .attach_btf_id = static_cast<uint32_t>(id), .token_fd = static_cast<uint32_t>(token));
  UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_TRACING, "tw_attack", "GPL", insns, 2, &o));
  if (prog.get() < 0) return "load=" + errno_name(errno);
  UniqueFd link(bpf_link_create(prog.get(), 0, BPF_MODIFY_RETURN, nullptr));
  return "load=ok attach=" + (link.get() >= 0 ? std::string("ok") : errno_name(errno));  // detached on close
}

// Every step an attacker in a user namespace would take against the pins at `root`, each
// reported as ok or its errno. With an fd in hand (when a step gave one), it also tries what the
// fd allows.
std::string attack_steps(const std::string& root, const OurIds& ids, int token) {
  std::string r;
  auto step = [&](const std::string& name, const std::string& outcome) { r += " " + name + "=" + outcome; };
  UniqueFd map(bpf_obj_get((root + "/ctl").c_str()));
  step("obj_get_map", errno_of(map.get()));
  UniqueFd link(bpf_obj_get((root + "/link_tw_token_cmd").c_str()));
  step("obj_get_link", errno_of(link.get()));
  UniqueFd map_id(bpf_map_get_fd_by_id(ids.map));
  step("map_by_id", errno_of(map_id.get()));
  UniqueFd link_id(bpf_link_get_fd_by_id(ids.link));
  step("link_by_id", errno_of(link_id.get()));
  UniqueFd prog_id(bpf_prog_get_fd_by_id(ids.prog));
  step("prog_by_id", errno_of(prog_id.get()));
  int any_map = map.get() >= 0 ? map.get() : map_id.get();
  if (any_map >= 0) {
    tw_ctl off{};  // "no policy loaded": every program would fail closed, or a writer could flip slots
    uint32_t zero = 0;
    step("map_update", errno_of(bpf_map_update_elem(any_map, &zero, &off, BPF_ANY)));
  }
  int any_link = link.get() >= 0 ? link.get() : link_id.get();
  if (any_link >= 0) {
    step("link_detach", errno_of(bpf_link_detach(any_link)));
    // A program of its own to put in the link's place.
    auto own = prog_load({}, token);
    step("link_update", own ? errno_of(bpf_link_update(any_link, own->get(), nullptr)) : "no-prog");
  }
  step("unlink", errno_of(unlink((root + "/ctl").c_str())));
  step("rename_pin", errno_of(rename((root + "/ctl").c_str(), (root + "-ctl").c_str())));
  step("rename_dir", errno_of(rename(root.c_str(), (root + "-moved").c_str())));
  step("rmdir", errno_of(rmdir(root.c_str())));
  step("hardlink", errno_of(::link((root + "/ctl").c_str(), (root + "-hardlink").c_str())));
  step("mkdir", errno_of(mkdir((root + "/sub").c_str(), 0700)));
  step("symlink", errno_of(symlink("ctl", (root + "/sym").c_str())));
  step("chmod", errno_of(chmod(root.c_str(), 0777)));
  if (token >= 0) {
    auto own = map_create({.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1}, token);
    step("pin_into", own ? errno_of(bpf_obj_pin(own->get(), (root + "/mine").c_str())) : "no-map");
    step("fmod_ret", "{" + fmod_ret_attack(token, "security_bpf_token_capable") + "}");
  }
  return r;
}

Outcome self_protection() {
  DelegateSpec spec;
  spec.masks.cmds = spec.masks.maps = spec.masks.progs = spec.masks.attachs = ~0ULL;
  spec.host_uid = 100000;
  // What the kernel alone lets such a token do to the LSM: its fmod_ret verdict replaces the
  // LSMs' on a security_* function.
  std::string baseline = in_delegated(spec, [](DelegatedMount& m) {
    auto token = token_create(m.root_fd.get());
    return token ? fmod_ret_attack(token->get(), "security_bpf_token_capable") : "token=" + errno_name(token.error().err);
  });
  auto [lrc, lout] = sh("/bin/tokenwarden load /policies/unconfined.tw");
  if (lrc != 0) return fail("load: " + lout);
  const std::string root = "/sys/fs/bpf/tokenwarden";
  // The ids of a map, a link and a program, as root sees them.
  UniqueFd ctl(bpf_obj_get((root + "/ctl").c_str())), link(bpf_obj_get((root + "/link_tw_token_cmd").c_str()));
  bpf_map_info minfo{};
  bpf_link_info linfo{};
  uint32_t mlen = sizeof minfo, llen = sizeof linfo;
  if (ctl.get() < 0 || link.get() < 0 || bpf_map_get_info_by_fd(ctl.get(), &minfo, &mlen) ||
      bpf_link_get_info_by_fd(link.get(), &linfo, &llen)) {
    sh("/bin/tokenwarden unload");
    return fail("root cannot open its own pins: the test could not tell anything apart");
  }
  OurIds ids{minfo.id, linfo.id, linfo.prog_id};
  // Two containers whose bpffs delegates everything: root mapped to host uid 100000, and root
  // mapped to host uid 0, which passes every file mode on the pins.
  auto attack = [&](std::optional<uint32_t> host_uid) {
    spec.host_uid = host_uid;
    return in_delegated(spec, [&](DelegatedMount& m) {
      auto token = token_create(m.root_fd.get());
      return "token=" + (token ? std::string("ok") : errno_name(token.error().err)) +
             attack_steps(root, ids, token ? token->get() : -1);
    });
  };
  std::string unmapped = attack(100000), mapped = attack(std::nullopt);
  bool pins_intact = access((root + "/ctl").c_str(), F_OK) == 0 && access(root.c_str(), F_OK) == 0;
  // The host's root keeps everything: it opens the pins, reads the guard's counts, and unloads.
  UniqueFd again(bpf_obj_get((root + "/ctl").c_str()));
  auto [rrc, rout] = sh("/bin/tokenwarden replace /policies/unconfined.tw");
  auto [src, sout] = sh("/bin/tokenwarden status --json");
  auto [arc, aout] = sh("/bin/tokenwarden audit");
  auto [urc, uout] = sh("/bin/tokenwarden unload");
  sh("rm -rf " + root + "-moved " + root + "-ctl " + root + "-hardlink");
  Expectations expect;
  // What the kernel refuses without tokenwarden (file modes, CAP_SYS_ADMIN in the initial
  // namespace for ids) and what the guard adds are both refusals; a link fd that a mapped root
  // can open is the one thing that stays (no LSM hook sees a link fd being made), and it can
  // neither detach nor update nor unpin the link.
  for (const auto& [who, got] : {std::pair{"uid 100000", unmapped}, std::pair{"uid 0 mapped", mapped}}) {
    if (got.rfind("token=ok", 0) != 0) expect.bad.push_back(std::string(who) + ": no token: " + got);
    std::istringstream in(got);
    for (std::string w; in >> w;) {
      if (w.rfind("token=", 0) == 0 || w.rfind("obj_get_link=", 0) == 0) continue;
      if (w.find("=ok") != std::string::npos && w.find("load=") == std::string::npos)
        expect.bad.push_back(std::string(who) + ": " + w);
    }
    if (got.find("fmod_ret={load=EPERM}") == std::string::npos)
      expect.bad.push_back(std::string(who) + ": the token-backed fmod_ret program was not refused at load");
  }
  expect.require(pins_intact, "the pins did not survive");
  expect.require(again.get() >= 0, "the host's root cannot open its own pin after the attacks");
  expect.require(rrc == 0, "replace after the attacks: " + rout);
  expect.require(urc == 0, "unload after the attacks: " + uout);
  expect.require(baseline.rfind("load=", 0) == 0, "the attack without tokenwarden could not be tried: " + baseline);
  // The guard counted and audited its refusals.
  auto status = nlohmann::json::parse(sout, nullptr, false);
  uint64_t refused = 0;
  if (status.is_object() && status["guard"].is_object())
    for (auto& [op, n] : status["guard"]["refused"].items()) refused += n.get<uint64_t>();
  expect.require(refused > 0, "status counts no guard refusal: " + sout.substr(0, 300));
  expect.require(aout.find("guard") != std::string::npos && aout.find("unlink ino") != std::string::npos,
                 "audit shows no guard refusal of the unlink");
  return expect.result("without tokenwarden, fmod_ret on security_bpf_token_capable: " + baseline +
                       " | uid 100000:" + unmapped.substr(8) + " | uid 0 mapped:" + mapped.substr(8) +
                       " | guard refusals counted: " + std::to_string(refused));
}

// ---- the kernel selftest's token scenarios, as a policy ------------------------------------------

// An XDP program that calls `helpers` in turn, then returns XDP_PASS (2).
std::vector<bpf_insn> xdp_calling(std::initializer_list<int> helpers) {
  std::vector<bpf_insn> insns;
  for (int h : helpers) insns.push_back({.code = BPF_JMP | BPF_CALL, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = h});
  insns.push_back({.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 2});
  insns.push_back({.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0});
  return insns;
}

Outcome selftest_scenarios() {
  for (const char* cg : {"/st-full", "/st-noperf", "/st-nocmd"}) mkdir((std::string("/sys/fs/cgroup") + cg).c_str(), 0755);
  auto [lrc, lout] = sh("/bin/tokenwarden load /policies/selftest.tw");
  if (lrc != 0) return fail("load: " + lout);
  DelegateSpec spec;  // what the selftest delegates
  spec.masks.cmds = (1ULL << BPF_MAP_CREATE) | (1ULL << BPF_PROG_LOAD) | (1ULL << BPF_BTF_LOAD);
  spec.masks.maps = (1ULL << BPF_MAP_TYPE_STACK) | (1ULL << BPF_MAP_TYPE_ARRAY);
  spec.masks.progs = 1ULL << BPF_PROG_TYPE_XDP;
  spec.masks.attachs = 1ULL << BPF_XDP;
  auto run = [&](const std::string& cg) {
    move_to_cgroup(cg);
    std::string r = in_delegated(spec, [](DelegatedMount& m) {
      auto token = token_create(m.root_fd.get());
      if (!token) return "token=" + errno_name(token.error().err);
      int t = token->get();
      std::string out = "token=ok";
      out += " stack=" + outcome_of(map_create({.type = BPF_MAP_TYPE_STACK, .key_size = 0, .value_size = 8, .max_entries = 4}, t));
      out += " btf=" + outcome_of(btf_load(minimal_btf(), t));
      out += " xdp_bpf_helper=" +
             outcome_of(prog_load({.type = BPF_PROG_TYPE_XDP, .expected_attach_type = BPF_XDP,
                                   .insns = xdp_calling({BPF_FUNC_jiffies64})}, t));
      out += " xdp_perfmon_helper=" +
             outcome_of(prog_load({.type = BPF_PROG_TYPE_XDP, .expected_attach_type = BPF_XDP,
                                   .insns = xdp_calling({BPF_FUNC_jiffies64, BPF_FUNC_get_current_task})}, t));
      out += " stack_without_token=" + outcome_of(map_create({.type = BPF_MAP_TYPE_STACK, .key_size = 0, .value_size = 8, .max_entries = 4}));
      return out;
    });
    move_to_cgroup("");
    return r;
  };
  std::string full = run("/st-full"), noperf = run("/st-noperf"), nocmd = run("/st-nocmd");
  auto [arc, aout] = sh("/bin/tokenwarden audit");
  sh("/bin/tokenwarden unload");
  Expectations expect;
  expect("full", full, "token=ok stack=ok btf=ok xdp_bpf_helper=ok xdp_perfmon_helper=ok stack_without_token=EPERM");
  // The verifier refuses the CAP_PERFMON helper (its own errno); the rest is unaffected.
  if (noperf.find("token=ok stack=ok btf=ok xdp_bpf_helper=ok xdp_perfmon_helper=") != 0 ||
      noperf.find("xdp_perfmon_helper=ok") != std::string::npos)
    expect.bad.push_back("no-perfmon: got `" + noperf + "`, want every step ok but the CAP_PERFMON helper");
  expect("no-prog-load", nocmd, "token=ok stack=ok btf=ok xdp_bpf_helper=EPERM xdp_perfmon_helper=EPERM stack_without_token=EPERM");
  if (aout.find("CAP_PERFMON") == std::string::npos || aout.find("profile=no-perfmon") == std::string::npos)
    expect.bad.push_back("audit lacks the CAP_PERFMON refusal of no-perfmon");
  expect.require(aout.find("cmd prog_load") != std::string::npos, "audit lacks the prog_load refusal of no-prog-load");
  return expect.result("full: " + full + " | no-perfmon: " + noperf + " | no-prog-load: " + nocmd);
}

// ---- bench/hooks_bench.sh: per-invocation cost of the programs (not a test) -------------------

struct HookStats {
  uint64_t ns = 0, cnt = 0;
};

// run_time_ns / run_cnt of every BPF LSM program attached now, by program name.
std::map<std::string, HookStats> lsm_prog_stats() {
  std::map<std::string, HookStats> out;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    UniqueFd fd(bpf_prog_get_fd_by_id(id));
    if (fd.get() < 0) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_prog_get_info_by_fd(fd.get(), &info, &len) != 0 || info.type != BPF_PROG_TYPE_LSM) continue;
    // Names are cut to 15 characters ("tw_token_capabl"): match the hook by prefix.
    std::string name = info.name;
    std::string rest = name.substr(name.find('_') + 1);
    if (rest.rfind("guard_", 0) == 0) {  // the guard's programs: tw_guard_map, ...
      out[rest].ns += info.run_time_ns;
      out[rest].cnt += info.run_cnt;
      continue;
    }
    for (const char* hook : {"token_create", "token_cmd", "token_capable", "map_create", "prog_load", "token_free"}) {
      if (rest.empty() || std::string(hook).rfind(rest, 0) != 0) continue;
      out[hook].ns += info.run_time_ns;
      out[hook].cnt += info.run_cnt;
    }
  }
  return out;
}

// The program the workload loads: `exit` alone, which the verifier refuses (R0 is never set)
// after every hook and capability check of a load has run, so that nothing is JIT-compiled. Under
// software emulation, writing JIT code into the kernel's shared program pack makes the emulator
// throw away its translation of every program on the same page, the measured ones included, at
// random: a cost no CPU has, and the largest source of spread between rounds before this.
const std::vector<bpf_insn>& refused_program() {
  static const std::vector<bpf_insn> insns = {{.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0}};
  return insns;
}

// The workload measured: tokens created and freed, each used for maps and a program load.
void bench_workload(int rounds) {
  DelegateSpec spec;
  spec.masks.cmds = (1ULL << BPF_MAP_CREATE) | (1ULL << BPF_PROG_LOAD);
  spec.masks.maps = 1ULL << BPF_MAP_TYPE_ARRAY;
  spec.masks.progs = 1ULL << BPF_PROG_TYPE_SOCKET_FILTER;
  spec.masks.attachs = 1ULL << BPF_CGROUP_INET_INGRESS;
  move_to_cgroup("/tw-bench");
  in_delegated(spec, [&](DelegatedMount& m) {
    for (int i = 0; i < rounds; ++i) {
      auto t = token_create(m.root_fd.get());
      if (!t) continue;
      for (int k = 0; k < 4; ++k) (void)map_create({.type = BPF_MAP_TYPE_ARRAY, .max_entries = 4}, t->get());
      (void)prog_load({.type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = refused_program()}, t->get());
    }
    return std::string("-");
  });
  move_to_cgroup("");
}

// Latency of a token-backed BPF_MAP_CREATE (array, 4 entries) and the close of its fd, from one
// token in the bench cgroup: the median over 7 batches of each batch's mean, in ns. bpf_stats is
// off here (it is on only while bench_hooks measures), so the programs do not pay for it.
double map_create_latency() {
  DelegateSpec spec;
  spec.masks.cmds = 1ULL << BPF_MAP_CREATE;
  spec.masks.maps = 1ULL << BPF_MAP_TYPE_ARRAY;
  move_to_cgroup("/tw-bench");
  std::string r = in_delegated(spec, [&](DelegatedMount& m) {
    auto t = token_create(m.root_fd.get());
    if (!t) return std::string("0");
    // Let deferred work of the previous configuration (freed maps, detached programs: RCU
    // callbacks, workqueues) finish, and warm up, before measuring.
    sleep(2);
    for (int i = 0; i < 100; ++i) (void)map_create({.type = BPF_MAP_TYPE_ARRAY, .max_entries = 4}, t->get());
    std::vector<double> batches;
    for (int b = 0; b < 7; ++b) {
      const int n = 300;
      timespec t0{}, t1{};
      clock_gettime(CLOCK_MONOTONIC, &t0);
      for (int i = 0; i < n; ++i) (void)map_create({.type = BPF_MAP_TYPE_ARRAY, .max_entries = 4}, t->get());
      clock_gettime(CLOCK_MONOTONIC, &t1);
      batches.push_back((static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e9 + static_cast<double>(t1.tv_nsec - t0.tv_nsec)) / n);
    }
    std::sort(batches.begin(), batches.end());
    return fmt::format("{:.0f}", batches[batches.size() / 2]);
  });
  move_to_cgroup("");
  return std::strtod(r.c_str(), nullptr);
}

void print_latency(const std::string& label, double ns) {
  std::printf("TWVM-LATENCY %s %.0f\n", label.c_str(), ns);
  std::fflush(stdout);
}

// A policy of `n` profiles; the workload's cgroup is matched by the last one.
void write_bench_policy(const std::string& path, int n) {
  std::ofstream out(path);
  out << "policy bench-" << n << ";\ndefault deny;\npreexisting allow;\n";
  for (int i = 0; i < n - 1; ++i)
    out << "profile p" << i << " { match creator.uid == " << 100000 + i << " and creator.comm == \"svc-" << i
        << "\"; allow cmd map_create; allow map array; allow cap CAP_BPF; }\n";
  out << "profile bench { match creator.cgroup under \"/tw-bench\"; allow cmd map_create, prog_load; allow map array;"
         " allow prog socket_filter; allow attach cgroup_inet_ingress; allow cap CAP_BPF, CAP_PERFMON; limit maps 100000;"
         " limit progs 100000; }\n";
}

std::string stats_line(const std::string& label, const std::map<std::string, HookStats>& before,
                       const std::map<std::string, HookStats>& after) {
  std::string line = "TWVM-BENCH " + label;
  for (const char* hook : {"token_create", "token_cmd", "token_capable", "map_create", "prog_load", "token_free",
                           "guard_bpf", "guard_map", "guard_prog", "guard_create", "guard_attr"}) {
    HookStats a = after.count(hook) ? after.at(hook) : HookStats{};
    HookStats b = before.count(hook) ? before.at(hook) : HookStats{};
    uint64_t cnt = a.cnt - b.cnt, ns = a.ns - b.ns;
    line += fmt::format(" {}={:.0f}ns/{}", hook, cnt ? static_cast<double>(ns) / static_cast<double>(cnt) : 0.0, cnt);
  }
  return line;
}

// What the measurements ran on: the kernel, the CPUs, the JIT, and the CPU vulnerability
// mitigations the kernel reports (bench/hooks_bench.sh prints them with the tables).
void print_machine() {
  utsname u{};
  uname(&u);
  std::printf("TWVM-MACHINE kernel %s\n", u.release);
  std::printf("TWVM-MACHINE cpus %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("TWVM-MACHINE bpf_jit_enable=%s bpf_jit_harden=%s\n", read_text("/proc/sys/net/core/bpf_jit_enable").c_str(),
              read_text("/proc/sys/net/core/bpf_jit_harden").c_str());
  std::printf("TWVM-MACHINE cmdline %s\n", read_text("/proc/cmdline").c_str());
  auto [rc, vulns] = sh("grep -H . /sys/devices/system/cpu/vulnerabilities/* 2>/dev/null | sed 's|.*/||'");
  std::istringstream lines(vulns);
  for (std::string line; std::getline(lines, line);) std::printf("TWVM-MACHINE vulnerability %s\n", line.c_str());
  std::fflush(stdout);
}

// How many times each hook runs for one token-backed map creation and one program load (the
// workload's refused one, and one the verifier accepts), counted with the floor's programs
// attached. The statistics are read here: a task in a user namespace cannot list programs.
void print_calls_per_operation() {
  floor_hooks* floor = floor_hooks::open_and_load();
  if (!floor || floor_hooks::attach(floor)) {
    std::printf("TWVM-CALLS none: the floor's programs did not load\n");
    if (floor) floor_hooks::destroy(floor);
    return;
  }
  UniqueFd stats(bpf_enable_stats(BPF_STATS_RUN_TIME));
  DelegateSpec spec;
  spec.masks.cmds = (1ULL << BPF_MAP_CREATE) | (1ULL << BPF_PROG_LOAD);
  spec.masks.maps = 1ULL << BPF_MAP_TYPE_ARRAY;
  spec.masks.progs = 1ULL << BPF_PROG_TYPE_SOCKET_FILTER;
  spec.masks.attachs = 1ULL << BPF_CGROUP_INET_INGRESS;
  const int n = 50;
  // `op` n times from one token; the calls of a run with no operation are taken off.
  auto calls = [&](const std::function<void(int)>& op) {
    move_to_cgroup("/tw-bench");
    auto before = lsm_prog_stats();
    in_delegated(spec, [&](DelegatedMount& m) {
      auto t = token_create(m.root_fd.get());
      if (t && op)
        for (int i = 0; i < n; ++i) op(t->get());
      return std::string("-");
    });
    auto after = lsm_prog_stats();
    move_to_cgroup("");
    std::map<std::string, uint64_t> out;
    for (const char* hook : {"token_cmd", "token_capable", "map_create", "prog_load"})
      out[hook] = after[hook].cnt - before[hook].cnt;
    return out;
  };
  auto none = calls(nullptr);
  std::vector<std::pair<std::string, std::function<void(int)>>> ops = {
      {"map_create", [](int t) { (void)map_create({.type = BPF_MAP_TYPE_ARRAY, .max_entries = 4}, t); }},
      {"prog_load(refused by the verifier)",
       [](int t) { (void)prog_load({.type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = refused_program()}, t); }},
      {"prog_load(accepted)", [](int t) { (void)prog_load({.type = BPF_PROG_TYPE_SOCKET_FILTER}, t); }},
  };
  for (const auto& [name, op] : ops) {
    auto c = calls(op);
    std::string line = "TWVM-CALLS " + name;
    for (const auto& [hook, cnt] : c)
      line += fmt::format(" {}={:.2f}", hook, static_cast<double>(cnt - none[hook]) / n);
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);
  stats = UniqueFd();
  floor_hooks::destroy(floor);
}

// One command's wall, user and system time (wait4), in ms.
struct Timed {
  int rc = -1;
  double wall = 0, user = 0, sys = 0;
};

Timed timed(const std::string& cmd) {
  timespec t0{}, t1{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  auto ms = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3; };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e3 + static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e6,
          ms(ru.ru_utime), ms(ru.ru_stime)};
}

// `load`, then `replace` with the same policy, at 1, 100 and 10,000 profiles, three rounds: the
// time of each (the policy compiled inside the command, as an operator runs it) and the kernel
// memory `status` reports once loaded.
void print_load_times() {
  for (int round = 0; round < 3; ++round)
    for (int n : {1, 100, 10000}) {
      std::string path = "/tmp/bench-" + std::to_string(n) + ".tw";
      Timed load = timed("/bin/tokenwarden load " + path);
      auto [src, status] = sh("/bin/tokenwarden status --json 2>/dev/null");
      uint64_t memory = 0;
      if (auto j = nlohmann::json::parse(status, nullptr, false); j.is_object() && j["kernel_memory_bytes"].is_number())
        memory = j["kernel_memory_bytes"].get<uint64_t>();
      Timed replace = timed("/bin/tokenwarden replace " + path);
      Timed unload = timed("/bin/tokenwarden unload");
      for (auto [op, t] : {std::pair{"load", load}, std::pair{"replace", replace}, std::pair{"unload", unload}})
        std::printf("TWVM-LOAD profiles=%d %s rc=%d wall=%.1f user=%.1f sys=%.1f memory=%llu\n", n, op, t.rc, t.wall,
                    t.user, t.sys, static_cast<unsigned long long>(memory));
      std::fflush(stdout);
    }
}

Outcome bench_hooks() {
  const int tokens = 250;  // per measurement
  const int rounds = 7;
  // bpf_stats only while a measurement runs (BPF_ENABLE_STATS, as the kernel's selftests/bpf/bench
  // does): the warm-ups, the loads and the latencies run without it.
  std::ofstream("/proc/sys/kernel/bpf_stats_enabled") << "0";
  mkdir("/sys/fs/cgroup/tw-bench", 0755);
  print_machine();
  bench_workload(20);  // warm-up
  for (int n : {1, 100, 10000}) write_bench_policy("/tmp/bench-" + std::to_string(n) + ".tw", n);
  print_calls_per_operation();
  std::string report;
  int stats_errno = 0;
  auto measure = [&](const std::string& label) {
    sleep(1);  // deferred work of the last load or unload (RCU callbacks freeing tables) first
    // A warm-up first with the configuration attached: the emulator translates a program's
    // code on its first runs, which is no part of its cost per invocation.
    bench_workload(30);
    UniqueFd stats(bpf_enable_stats(BPF_STATS_RUN_TIME));
    if (stats.get() < 0) {
      stats_errno = errno;  // before anything else can change it
      return false;
    }
    auto before = lsm_prog_stats();
    bench_workload(tokens);
    auto after = lsm_prog_stats();
    stats = UniqueFd();
    auto line = stats_line(label, before, after);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    report += line + "; ";
    return true;
  };
  // Every configuration in turn, `rounds` times over, so that drift of the emulated machine
  // spreads over all of them (bench/hooks_bench.sh gives each hook's median and spread): trivial
  // programs on the same hooks, the floor (floor_hooks.bpf.c: one hash lookup of the token per
  // use), the policy's floor (the reads and counts this policy needs, nothing else) and
  // tokenwarden with 1, 100 and 10,000 profiles.
  for (int round = 0; round < rounds; ++round) {
    trivial_hooks* trivial = trivial_hooks::open_and_load();
    if (!trivial || trivial_hooks::attach(trivial)) return fail("trivial programs did not load");
    bool ok = measure("trivial");
    trivial_hooks::destroy(trivial);
    if (!ok) return fail("BPF_ENABLE_STATS: " + errno_name(stats_errno));
    for (bool reads : {false, true}) {
      floor_hooks* floor = floor_hooks::open();
      if (!floor) return fail("floor programs did not open");
      floor->rodata->policy_reads = reads;
      floor->rodata->under_levels = 2;  // the bench policy's `under "/tw-bench"` is level 1
      if (floor_hooks::load(floor) || floor_hooks::attach(floor)) {
        floor_hooks::destroy(floor);
        return fail(std::string("floor programs did not load") + (reads ? " (policy reads)" : ""));
      }
      measure(reads ? "floor-policy" : "floor");
      floor_hooks::destroy(floor);
    }
    for (int n : {1, 100, 10000}) {
      std::string path = "/tmp/bench-" + std::to_string(n) + ".tw";
      auto [rc, out] = sh("/bin/tokenwarden load " + path + " 2>/dev/null");
      if (rc != 0) return fail("load " + path + ": " + out);
      measure("tokenwarden profiles=" + std::to_string(n));
      sh("/bin/tokenwarden unload");
    }
  }
  print_load_times();
  // Latency of BPF_MAP_CREATE: the configurations in turn, five times over, so that drift of the
  // emulated machine spreads over all of them (bench/hooks_bench.sh takes each one's median).
  for (int round = 0; round < 5; ++round) {
    print_latency("none", map_create_latency());
    if (trivial_hooks* skel = trivial_hooks::open_and_load(); skel && !trivial_hooks::attach(skel)) {
      print_latency("trivial", map_create_latency());
      trivial_hooks::destroy(skel);
    }
    if (floor_hooks* skel = floor_hooks::open_and_load(); skel && !floor_hooks::attach(skel)) {
      print_latency("floor", map_create_latency());
      floor_hooks::destroy(skel);
    }
    for (int n : {1, 10000}) {
      if (round > 0 && n == 10000) continue;  // slow to load under emulation: once
      if (sh("/bin/tokenwarden load /tmp/bench-" + std::to_string(n) + ".tw").first != 0) continue;
      print_latency("tokenwarden profiles=" + std::to_string(n), map_create_latency());
      sh("/bin/tokenwarden unload");
    }
  }
  return pass(report);
}

// A case with a deliberately wrong expectation, to show how a failure looks.
Outcome broken_expectation() {
  std::string r = outcome_of(map_create({.type = BPF_MAP_TYPE_HASH, .max_entries = 0}));
  return r == "ok" ? pass(r) : fail("expected a hash map with max_entries=0 to be created, got " + r);
}

const std::map<std::string, std::function<Outcome()>>& cases() {
  static const std::map<std::string, std::function<Outcome()>> all = {
      {"bpf_lsm_active", bpf_lsm_active},
      {"doctor_can_enforce", doctor_can_enforce},
      {"catalogue_complete", catalogue_complete},
      {"token_cmd_deny", token_cmd_deny},
      {"selinux_map_create", selinux_map_create},
      {"selinux_token_perms", selinux_token_perms},
      {"selinux_module_delegation", selinux_module_delegation},
      {"selinux_module_legacy", selinux_module_legacy},
      {"selinux_both_backends", selinux_both_backends},
      {"selinux_pins_protected", selinux_pins_protected},
      {"broken_expectation", broken_expectation},
      {"enforce_policy", enforce_policy},
      {"enforce_lifecycle", enforce_lifecycle},
      {"demo", demo},
      {"self_protection", self_protection},
      {"selftest_scenarios", selftest_scenarios},
      {"differential", differential},
      {"robustness", robustness},
      {"faults", faults},
      {"bench_hooks", bench_hooks},
      {"demo_workload_flowlogd", demo_workload_flowlogd},
  };
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--diff-op") return differential_op(argc, argv);
  utsname u{};
  uname(&u);
  std::printf("TWVM-KERNEL %s\n", u.release);
  std::fflush(stdout);
  int failed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    Outcome o;
    auto it = cases().find(name);
    if (it == cases().end()) {
      o = fail("no such case");
    } else {
      try {
        o = it->second();
      } catch (const std::exception& e) {
        o = fail(std::string("exception: ") + e.what());
      }
    }
    for (char& c : o.detail)
      if (c == '\n') c = ' ';
    std::printf("TWVM-RESULT %s %s %s\n", name.c_str(), o.status.c_str(), o.detail.c_str());
    std::fflush(stdout);
    failed += o.status == "FAIL";
  }
  return failed ? 1 : 0;
}
