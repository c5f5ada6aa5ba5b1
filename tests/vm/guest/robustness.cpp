// SPDX-License-Identifier: Apache-2.0
// VM case `robustness`: tokenwarden's writers interrupted and raced on a kernel that runs its
// programs, and the programs given tables that are not whole. Whatever happens, a token decision
// is the live policy's or a refusal, never an allow that no policy gave.
//   1. fail closed: with a table of the live slot removed behind tokenwarden's back, tokens are
//      refused (new ones, and old ones that need the tables), audit says why, status exits 2;
//   2. two replaces at once, N rounds: one whole policy each time, verdicts of A or B only;
//   3. SIGKILL of load, replace and unload at each of their steps (TW_FAULT_KILL_AT): the next
//      writer cleans up, and no program stays attached without a pin root that shows it.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "guest.h"
#include "kernel/bpf.h"
#include "vocab/catalogue.h"

using namespace tw::kernel;
using namespace tw::vocab;

namespace twvm {
namespace {

const std::string kTw = "/bin/tokenwarden";
const std::string kRoot = "/sys/fs/bpf/tokenwarden";

// How many of tokenwarden's create programs the kernel holds (one per load still attached).
int create_programs() {
  int n = 0;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    UniqueFd fd(bpf_prog_get_fd_by_id(id));
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (fd.valid() && bpf_prog_get_info_by_fd(fd.get(), &info, &len) == 0 &&
        std::strncmp(info.name, "tw_token_create", sizeof info.name) == 0)
      ++n;
  }
  return n;
}

// Programs of a killed writer are released from a workqueue once its last fd closes.
int programs_after_settling(int want) {
  int n = create_programs();
  for (int i = 0; i < 150 && n != want; ++i) {
    usleep(20 * 1000);
    n = create_programs();
  }
  return n;
}

// Removes entry `slot` of a pinned outer map, as a writer outside tokenwarden could.
bool remove_slot(const std::string& outer, uint32_t slot) {
  UniqueFd fd(bpf_obj_get((kRoot + "/" + outer).c_str()));
  return fd.valid() && bpf_map_delete_elem(fd.get(), &slot) == 0;
}

uint32_t live_slot() {
  UniqueFd fd(bpf_obj_get((kRoot + "/ctl").c_str()));
  uint32_t zero = 0;
  struct {
    uint32_t slot, loaded;
    uint64_t generation;
  } ctl{};
  if (!fd.valid() || bpf_map_lookup_elem(fd.get(), &zero, &ctl) != 0) return 99;
  return ctl.slot & 1;
}

// A creator the policies do not know: `default deny` refuses its token.
std::string stranger() {
  return token_session("/tw-stranger", [](int) { return std::string("-"); });
}

int exit_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1000; }

// Runs tokenwarden with TW_FAULT_KILL_AT=step: its exit status as exit_of() reports it.
int killed_at(const std::string& step, const std::string& args) {
  return sh("TW_FAULT_KILL_AT=" + step + " " + kTw + " " + args + " >/dev/null 2>&1; echo $?").second == "137\n" ? -9 : 0;
}

void fail_closed(Expectations& expect) {
  expect("load A", std::to_string(sh(kTw + " load /policies/robust-a.tw").first), "0");
  TokenHolder worker("/tw-robust");
  expect("worker token", std::to_string(worker.ready()), "1");
  expect("worker array (gen 1)", worker.op('a'), "ok");
  // A second generation: the worker's token was labelled by the first, so its uses now read the
  // live tables (the long way), like every token from before a replace.
  expect("replace A", std::to_string(sh(kTw + " replace /policies/robust-a.tw").first), "0");
  expect("worker array (gen 2)", worker.op('a'), "ok");
  expect("stranger", stranger(), "token=EPERM");

  for (const char* table : {"gen_settings", "gen_profiles", "gen_conjs"}) {
    std::string t = table;
    expect.require(remove_slot(t, live_slot()), "could not remove the live " + t);
    // The old code allowed both: no settings (or no profiles) meant `return 0`.
    expect("without " + t + ": worker array", worker.op('a'), t == "gen_conjs" ? "ok" : "EPERM");
    expect("without " + t + ": new worker token", token_session("/tw-robust", [](int) { return std::string("-"); }),
           "token=EPERM");
    expect("without " + t + ": stranger", stranger(), "token=EPERM");
    auto [src, sout] = sh(kTw + " status");
    expect("without " + t + ": status exit", std::to_string(src), "2");
    expect.require(sout.find("WARNING: the live policy is INCOMPLETE") != std::string::npos &&
                       sout.find(t) != std::string::npos,
                   "without " + t + ": status does not say so: " + sout.substr(0, 300));
    auto [arc, aout] = sh(kTw + " audit");
    expect.require(aout.find("the live policy's tables are missing or inconsistent (fails closed)") != std::string::npos,
                   "without " + t + ": audit lacks the fail-closed reason");
    // A replace writes a whole generation again.
    expect("replace after removing " + t, std::to_string(sh(kTw + " replace /policies/robust-a.tw").first), "0");
    expect("after repair: worker array", worker.op('a'), "ok");
    expect("after repair: stranger", stranger(), "token=EPERM");
  }
  sh(kTw + " unload");
}

void race(Expectations& expect, int rounds) {
  expect("load A for the race", std::to_string(sh(kTw + " load /policies/robust-a.tw").first), "0");
  TokenHolder worker("/tw-robust");
  std::mt19937 rng(42);
  int bad_rounds = 0;
  for (int i = 0; i < rounds; ++i) {
    const char* first = i % 2 ? "a" : "b";
    const char* second = i % 2 ? "b" : "a";
    pid_t p1 = fork();
    if (p1 == 0) _exit(sh(kTw + " replace /policies/robust-" + first + ".tw").first);
    usleep(std::uniform_int_distribution<int>(0, 99)(rng) * 1000);
    pid_t p2 = fork();
    if (p2 == 0) _exit(sh(kTw + " replace /policies/robust-" + second + ".tw").first);
    // Ask while they race: arrays always, hash maps as whichever policy is live says.
    std::string a = worker.op('a'), h = worker.op('h');
    int s1 = 0, s2 = 0;
    waitpid(p1, &s1, 0);
    waitpid(p2, &s2, 0);
    auto [rc, out] = sh(kTw + " status --json");
    bool whole = rc == 0 && out.find("\"complete\": true") != std::string::npos &&
                 ((out.find("\"policy\": \"robust-a\"") != std::string::npos && out.find("\"profiles\": 1,") != std::string::npos) ||
                  (out.find("\"policy\": \"robust-b\"") != std::string::npos && out.find("\"profiles\": 2,") != std::string::npos));
    std::string s = stranger();
    bool ok = exit_of(s1) == 0 && exit_of(s2) == 0 && whole && a == "ok" && (h == "ok" || h == "EPERM") &&
              s == "token=EPERM";
    if (!ok && ++bad_rounds <= 3)
      expect.bad.push_back(fmt::format("race round {}: exits {} {}, status {}, array {}, hash {}, stranger {}", i,
                                       exit_of(s1), exit_of(s2), whole ? "whole" : out.substr(0, 200), a, h, s));
  }
  expect("race rounds with a problem", std::to_string(bad_rounds), "0");
  sh(kTw + " unload");
}

void kills(Expectations& expect) {
  // load: killed at each step, the next writer cleans up; only a load killed after its rename
  // leaves a policy (and then it is whole).
  for (const char* step : {"install-staged", "install-loaded", "install-tables", "install-maps-pinned",
                           "install-attached", "install-links-pinned", "install-renamed"}) {
    std::string s = step;
    expect("load killed at " + s, std::to_string(killed_at(s, "load /policies/robust-a.tw")), "-9");
    auto [rc, out] = sh(kTw + " status");
    bool loaded = s == "install-renamed";
    expect("status after load killed at " + s, std::to_string(rc), "0");
    expect.require(loaded == (out.find("policy `robust-a`") != std::string::npos),
                   "after load killed at " + s + ": " + out.substr(0, 300));
    expect("programs after load killed at " + s, std::to_string(programs_after_settling(loaded ? 1 : 0)),
           loaded ? "1" : "0");
    expect("stranger after load killed at " + s, stranger(), loaded ? "token=EPERM" : "token=ok -");
    sh(kTw + " unload");
  }
  // replace: the old policy or the new one, whole.
  for (const char* step : {"replace-inner-filled", "replace-slot-written", "replace-flipped", "replace-released"}) {
    std::string s = step;
    sh(kTw + " load /policies/robust-a.tw");
    expect("replace killed at " + s, std::to_string(killed_at(s, "replace /policies/robust-b.tw")), "-9");
    auto [rc, out] = sh(kTw + " status");
    bool switched = s == "replace-flipped" || s == "replace-released";
    expect("status after replace killed at " + s, std::to_string(rc), "0");
    expect.require(out.find(switched ? "policy `robust-b`" : "policy `robust-a`") != std::string::npos,
                   "after replace killed at " + s + ": " + out.substr(0, 300));
    expect("stranger after replace killed at " + s, stranger(), "token=EPERM");
    sh(kTw + " unload");
  }
  // unload: nothing loaded afterwards, and nothing attached once the next writer has cleaned up.
  for (const char* step : {"remove-renamed", "remove-unpinned"}) {
    std::string s = step;
    sh(kTw + " load /policies/robust-a.tw");
    expect("unload killed at " + s, std::to_string(killed_at(s, "unload")), "-9");
    auto [rc, out] = sh(kTw + " status");
    expect("status after unload killed at " + s, std::to_string(rc), "0");
    expect.require(out.find("no policy is loaded") != std::string::npos, "after unload killed at " + s + ": " + out);
    expect("programs after unload killed at " + s, std::to_string(programs_after_settling(0)), "0");
  }
  expect("programs at the end", std::to_string(programs_after_settling(0)), "0");
  auto [lrc, ls] = sh("ls /sys/fs/bpf");
  expect.require(lrc == 0 && ls.find("tokenwarden") == std::string::npos, "left in /sys/fs/bpf: " + ls);
}

// ---- faults (VM case `faults`, booted with 2 vCPUs) ------------------------------------------------

// Whatever a writer's race or failure left: "" when the pin root is one whole policy or absent,
// no side directory is left and the programs attached are exactly the loaded policy's.
std::string consistency() {
  auto [rc, out] = sh("ls /sys/fs/bpf");
  if (out.find("-staging-") != std::string::npos || out.find("-removing-") != std::string::npos)
    return "left beside the pin root: " + out;
  bool loaded = access(kRoot.c_str(), F_OK) == 0;
  if (loaded) {
    auto [src, sout] = sh(kTw + " status --json");
    if (src != 0 || sout.find("\"complete\": true") == std::string::npos) return "status: " + sout.substr(0, 200);
  }
  int programs = programs_after_settling(loaded ? 1 : 0);
  if (programs != (loaded ? 1 : 0)) return fmt::format("{} create programs attached, policy loaded: {}", programs, loaded);
  return "";
}

// Two writers started together, `rounds` times, from the state `setup` makes; each round must
// end consistent. Returns the outcomes seen ("0/1" exits), for the detail.
std::string concurrently(Expectations& expect, const std::string& what, const std::string& setup,
                         const std::string& first, const std::string& second, int rounds) {
  std::map<std::string, int> seen;
  std::mt19937 rng(7);
  int bad = 0;
  for (int i = 0; i < rounds; ++i) {
    sh(kTw + " unload >/dev/null 2>&1; " + setup);
    // Exits in the order `first second`. Which gets the lock first depends on how long each takes
    // to get there (reading a policy takes longer than an unload): each round gives one of them
    // a head start of 0 to 1 s, the other in turn.
    int head = std::uniform_int_distribution<int>(0, 1000)(rng);
    std::string late = fmt::format("sleep {}.{:03}; ", head / 1000, head % 1000);
    std::string one = "(" + (i % 2 ? late : "") + kTw + " " + first + " >/dev/null 2>&1; echo $? >/tmp/rc1) & ";
    std::string two = "(" + (i % 2 ? "" : late) + kTw + " " + second + " >/dev/null 2>&1; echo $? >/tmp/rc2) & ";
    auto [rc, out] = sh(one + two + "wait; cat /tmp/rc1 /tmp/rc2");
    std::string exits = out;
    std::replace(exits.begin(), exits.end(), '\n', ' ');
    ++seen[exits];
    std::string problem = consistency();
    if (!problem.empty() && ++bad <= 3) expect.bad.push_back(what + fmt::format(" round {}: ", i) + problem);
  }
  sh(kTw + " unload >/dev/null 2>&1");
  std::string r = what + ":";
  for (const auto& [k, n] : seen) r += fmt::format(" [{}]x{}", k.substr(0, k.size() - 1), n);
  return r;
}

struct Counts {
  uint64_t events = 0, dropped_ringbuf = 0, dropped_ratelimit = 0, denied = 0, counters_lost = 0;
  std::string policy;
};

Counts counts() {
  Counts c;
  auto j = nlohmann::json::parse(sh(kTw + " status --json").second, nullptr, false);
  if (!j.is_object() || !j["events"].is_number()) return c;
  c.events = j["events"];
  c.dropped_ringbuf = j["dropped_ringbuf"];
  c.dropped_ratelimit = j["dropped_ratelimit"];
  c.counters_lost = j["counters_lost"];
  c.policy = j["policy"].get<std::string>();
  for (auto& p : j["counters"])
    for (auto& [hook, v] : p["hooks"].items()) c.denied += v["denied"].get<uint64_t>() + v["audited"].get<uint64_t>();
  return c;
}

// `n` hash maps through a worker token (robust-a refuses them at bpf_map_create): how many were refused.
int refuse_hash_maps(int n) {
  std::string r = token_session("/tw-robust", [n](int t) {
    int refused = 0;
    for (int i = 0; i < n; ++i) refused += map_outcome(t, BPF_MAP_TYPE_HASH, 4) == "EPERM";
    return std::to_string(refused);
  });
  return r.rfind("token=ok ", 0) == 0 ? std::atoi(r.c_str() + 9) : -1;
}

std::string drops(Expectations& expect) {
  std::string detail;
  // The rate limit, with the agent reading: drops are counted, the agent reports them, every
  // refusal stands, and every refusal is an event or a drop.
  expect("load, 5 events/s", std::to_string(sh(kTw + " load --events-per-sec 5 /policies/robust-a.tw").first), "0");
  sh(kTw + " agent --stdout --exit-after 8 >/tmp/agent.out 2>&1 &");
  usleep(1500 * 1000);
  int refused = refuse_hash_maps(200);
  expect("refused under the rate limit", std::to_string(refused), "200");
  sleep(8);
  Counts c = counts();
  expect.require(c.dropped_ratelimit > 0, "no drop over the rate limit was counted");
  expect(fmt::format("events {} + dropped {} + {} = refusals {}", c.events, c.dropped_ratelimit, c.dropped_ringbuf, c.denied),
         std::to_string(c.events + c.dropped_ratelimit + c.dropped_ringbuf), std::to_string(c.denied));
  std::string agent = read_text("/tmp/agent.out");
  expect.require(agent.find("audit events were dropped") != std::string::npos, "the agent did not report the drops: " +
                                                                                    agent.substr(0, 300));
  detail += fmt::format("rate limit: 200 refused, {} events, {} dropped, agent reported them", c.events, c.dropped_ratelimit);
  sh(kTw + " unload");
  // A full ring buffer (nobody reads it): the same accounting, drops by the ring.
  expect("load, no rate limit", std::to_string(sh(kTw + " load --events-per-sec 1000000 /policies/robust-a.tw").first), "0");
  refused = refuse_hash_maps(3000);
  expect("refused with the ring full", std::to_string(refused), "3000");
  c = counts();
  expect.require(c.dropped_ringbuf > 0, "no drop by a full ring buffer was counted");
  expect(fmt::format("events {} + dropped {} + {} = refusals {}", c.events, c.dropped_ringbuf, c.dropped_ratelimit, c.denied),
         std::to_string(c.events + c.dropped_ratelimit + c.dropped_ringbuf), std::to_string(c.denied));
  detail += fmt::format("; ring full: 3000 refused, {} events, {} dropped", c.events, c.dropped_ringbuf);
  sh(kTw + " unload");
  // A full counters table: the stranger's refusal has no counters entry; it stands, and is counted as lost.
  expect("load, 1 counter", std::to_string(sh(kTw + " load --counter-capacity 1 /policies/robust-a.tw").first), "0");
  expect("worker token", token_session("/tw-robust", [](int) { return std::string("-"); }), "token=ok -");
  expect("stranger with the counters full", stranger(), "token=EPERM");
  c = counts();
  expect.require(c.counters_lost >= 1, "the lost count was not counted");
  auto [src, sout] = sh(kTw + " status");
  expect.require(sout.find("decisions were not counted") != std::string::npos, "status does not warn of lost counts");
  detail += fmt::format("; counters full: the refusal stood, {} lost counts counted", c.counters_lost);
  sh(kTw + " unload");
  return detail;
}

std::string injected(Expectations& expect) {
  expect("load A", std::to_string(sh(kTw + " load /policies/robust-a.tw").first), "0");
  auto guarded = []() {
    auto j = nlohmann::json::parse(sh(kTw + " status --json").second, nullptr, false);
    return j.is_object() && j["guard"].is_object() ? j["guard"]["objects"].get<int>() : -1;
  };
  // A replace first: the guard forgets the objects only the loading process held (the BPF
  // object's .bss, which no program reads), so what follows compares like with like.
  expect("replace A", std::to_string(sh(kTw + " replace /policies/robust-a.tw").first), "0");
  int before = guarded();
  for (const char* step : {"create-gen_conjs", "fill-profiles"}) {
    std::string st = step;
    auto [rc, out] = sh("TW_FAULT_FAIL_AT=" + st + " " + kTw + " replace /policies/robust-b.tw");
    expect.require(rc != 0 && out.find("injected") != std::string::npos, st + ": replace did not fail: " + out);
    Counts c = counts();
    expect("policy after a replace failing at " + st, c.policy, "robust-a");
    expect("hash map after a replace failing at " + st,
           token_session("/tw-robust", [](int t) { return map_outcome(t, BPF_MAP_TYPE_HASH, 4); }), "token=ok EPERM");
    expect("guarded objects after a replace failing at " + st, std::to_string(guarded()), std::to_string(before));
    std::string problem = consistency();
    expect.require(problem.empty(), st + ": " + problem);
  }
  sh(kTw + " unload");
  auto [rc, out] = sh("TW_FAULT_FAIL_AT=create-gen_index " + kTw + " load /policies/robust-a.tw");
  expect.require(rc != 0 && out.find("injected") != std::string::npos, "load did not fail: " + out);
  std::string problem = consistency();
  expect.require(problem.empty() && access(kRoot.c_str(), F_OK) != 0, "a load failing at create-gen_index left: " + problem);
  return fmt::format("a replace failing at create-gen_conjs and at fill-profiles left robust-a enforcing with {} guarded "
                     "objects; a load failing at create-gen_index left nothing",
                     before);
}

}  // namespace

// ---- `limit tokens`: tenants and a race (on 2 vCPUs) ------------------------------------------

// A process in cgroup `cg` that makes `n` tokens one after the other (after a byte on `start`,
// when given, so that several start together), and through each `maps` array maps and `progs`
// socket filters; it keeps all it got and reports their outcomes as a line ("ok m:ok p:EDQUOT
// EDQUOT": a token, its map, its program, a refused token); it frees them and exits when
// `release` is written. It runs as host uid `uid` (root when 0), in a user namespace of its own.
struct Hoard {
  pid_t pid = -1;
  int report = -1, release = -1;
  std::string outcomes;
};

Hoard hoard(const std::string& cg, int n, int start = -1, int maps = 0, int progs = 0, uint32_t uid = 0) {
  int rep[2], rel[2];
  if (pipe(rep) != 0 || pipe(rel) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(rep[0]);
    close(rel[1]);
    move_to_cgroup(cg);
    DelegateSpec spec;
    spec.masks.cmds = (1ULL << BPF_MAP_CREATE) | (1ULL << BPF_PROG_LOAD);
    spec.masks.maps = 1ULL << BPF_MAP_TYPE_ARRAY;
    spec.masks.progs = 1ULL << BPF_PROG_TYPE_SOCKET_FILTER;
    spec.masks.attachs = 1ULL << BPF_CGROUP_INET_INGRESS;
    if (uid) spec.host_uid = uid;
    in_delegated(spec, [&](DelegatedMount& m) {
      char c = 0;
      if (start >= 0) (void)!read(start, &c, 1);
      std::vector<UniqueFd> kept;
      std::string out;
      MapSpec array{.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1};
      ProgSpec filter{.type = BPF_PROG_TYPE_SOCKET_FILTER, .expected_attach_type = BPF_CGROUP_INET_INGRESS};
      filter.insns = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
                      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0}};
      auto keep = [&](const char* prefix, Result<UniqueFd> r) {
        out += (out.empty() ? "" : " ") + std::string(prefix) + outcome_of(r);
        if (r) kept.push_back(std::move(*r));
      };
      for (int i = 0; i < n; ++i) {
        auto t = token_create(m.root_fd.get());
        int fd = t ? t->get() : -1;
        keep("", std::move(t));
        for (int j = 0; fd >= 0 && j < maps; ++j) keep("m:", map_create(array, fd));
        for (int j = 0; fd >= 0 && j < progs; ++j) keep("p:", prog_load(filter, fd));
      }
      out += "\n";
      (void)!write(rep[1], out.data(), out.size());
      (void)!read(rel[0], &c, 1);
      return std::string("-");
    });
    _exit(0);
  }
  close(rep[1]);
  close(rel[0]);
  return {pid, rep[0], rel[1], ""};
}

// The hoard's report line (it has made its tokens when this returns).
std::string report_of(Hoard& h) {
  std::string line;
  char c = 0;
  while (h.report >= 0 && read(h.report, &c, 1) == 1 && c != '\n') line += c;
  h.outcomes = line;
  return line;
}

void release(Hoard& h) {
  if (h.release >= 0) (void)!write(h.release, "x", 1);
  if (h.pid > 0) waitpid(h.pid, nullptr, 0);
  for (int fd : {h.report, h.release})
    if (fd >= 0) close(fd);
  h = {};
}

// 4 hoards in `cg` started together (a byte each on one pipe), each making `n` tokens and
// `maps` maps through each; their reports, once all have made what they could. The racers keep
// it until released.
std::vector<Hoard> race_together(const std::string& cg, int n, int maps, uint32_t uid = 0) {
  int start[2];
  if (pipe(start) != 0) return {};
  std::vector<Hoard> racers;
  for (int i = 0; i < 4; ++i) racers.push_back(hoard(cg, n, start[0], maps, 0, uid));
  usleep(100 * 1000);                 // all four in their namespaces, waiting
  (void)!write(start[1], "xxxx", 4);  // a byte each: all start at once
  close(start[1]);
  close(start[0]);
  for (auto& h : racers) report_of(h);
  return racers;
}

// How many of the words of `outcomes` are `word` ("ok": tokens made, "m:ok": maps).
int count_of(const std::string& outcomes, const std::string& word) {
  std::istringstream in(outcomes);
  int n = 0;
  for (std::string w; in >> w;) n += w == word;
  return n;
}
int count_ok(const std::string& outcomes) { return count_of(outcomes, "ok"); }

// {live tokens, tokens_limit, denied token creations} of `profile` in `status --json`, and its
// live maps and programs with their per-profile limits and denied creations.
struct Quota {
  long live = -1, limit = -1, denied = -1;
  long maps = 0, maps_limit = -1, maps_denied = 0, progs = 0, progs_limit = -1, progs_denied = 0;
  std::string text() const { return fmt::format("live={} limit={} denied={}", live, limit, denied); }
  std::string objects() const {
    return fmt::format("maps={}/{} denied={} progs={}/{} denied={}", maps, maps_limit, maps_denied, progs, progs_limit,
                       progs_denied);
  }
};

Quota quota_of(const std::string& profile) {
  Quota q;
  auto j = nlohmann::json::parse(sh(kTw + " status --json 2>/dev/null").second, nullptr, false);
  if (!j.is_object() || !j["counters"].is_array()) return q;
  auto number = [](const nlohmann::json& v) { return v.is_number() ? v.get<long>() : -1; };
  for (const auto& c : j["counters"])
    if (c["profile"] == profile) {
      q.live = c["live_tokens"].get<long>();
      q.limit = number(c["tokens_limit"]);
      q.denied = c["hooks"]["bpf_token_create"]["denied"].get<long>();
      q.maps = c["live_maps"].get<long>();
      q.maps_limit = number(c["maps_limit"]);
      q.maps_denied = c["hooks"]["bpf_map_create"]["denied"].get<long>();
      q.progs = c["live_progs"].get<long>();
      q.progs_limit = number(c["progs_limit"]);
      q.progs_denied = c["hooks"]["bpf_prog_load"]["denied"].get<long>();
    }
  if (q.live < 0) q = {0, -1, 0};  // no counters yet: nothing made
  return q;
}

// Refused token creations of every profile, "(no profile)" included, in `status --json`.
long create_refusals() {
  long n = 0;
  auto j = nlohmann::json::parse(sh(kTw + " status --json 2>/dev/null").second, nullptr, false);
  if (!j.is_object() || !j["counters"].is_array()) return -1;
  for (const auto& c : j["counters"]) n += c["hooks"]["bpf_token_create"]["denied"].get<long>();
  return n;
}

// Reads `read()` until `done` holds of it, for up to 4 s: the kernel frees a token, map or
// program after its last reference goes (the process's exit), from a workqueue or an RCU callback,
// and only then are its places given back.
template <class Read, class Done>
auto settle(Read read, Done done) {
  auto v = read();
  for (int i = 0; i < 200 && !done(v); ++i) {
    usleep(20 * 1000);
    v = read();
  }
  return v;
}

// The token count of a profile, once it is `live`.
Quota settled(const std::string& profile, long live) {
  return settle([&] { return quota_of(profile); }, [&](const Quota& q) { return q.live == live; });
}

const char* kQuotaPolicy = R"(policy quota;
default deny;
profile tenant-a { match creator.cgroup under "/tw-tenant-a"; allow cmd map_create; allow map array; limit tokens 3; errno EDQUOT; }
profile tenant-b { match creator.cgroup under "/tw-tenant-b"; allow cmd map_create; allow map array; limit tokens 8; }
profile race { match creator.cgroup under "/tw-race"; allow cmd map_create; allow map array; limit tokens 5; }
)";

std::string token_quota(Expectations& expect) {
  for (const char* cg : {"/tw-tenant-a", "/tw-tenant-b", "/tw-race"})
    mkdir((std::string("/sys/fs/cgroup") + cg).c_str(), 0755);
  std::ofstream("/tmp/quota.tw") << kQuotaPolicy;
  auto [lrc, lout] = sh(kTw + " load /tmp/quota.tw 2>&1");
  expect("load the quota policy", std::to_string(lrc), "0");
  if (lrc != 0) return "load: " + lout;

  // Two tenants: A up to its limit and beyond, then B, while A holds its tokens.
  Hoard a1 = hoard("/tw-tenant-a", 2);
  std::string got_a = report_of(a1);  // its tokens are made: then the second process
  Hoard a2 = hoard("/tw-tenant-a", 3);
  got_a += " | " + report_of(a2);
  expect("tenant A: two processes, 2 and 3 tokens under `limit tokens 3`", got_a, "ok ok | ok EDQUOT EDQUOT");
  Hoard b = hoard("/tw-tenant-b", 4);
  std::string got_b = report_of(b);
  expect("tenant B while A is at its limit", got_b, "ok ok ok ok");
  expect("status of A", quota_of("tenant-a").text(), "live=3 limit=3 denied=2");
  expect("status of B", quota_of("tenant-b").text(), "live=4 limit=8 denied=0");
  auto [src, text] = sh(kTw + " status");
  expect.require(text.find("3/3") != std::string::npos, "status text lacks tenant-a's 3/3: " + text);
  auto [arc, audit] = sh(kTw + " audit");
  expect.require(audit.find("live tokens of the profile over the limit") != std::string::npos &&
                     audit.find("profile=tenant-a") != std::string::npos,
                 "audit lacks tenant-a's quota refusals: " + audit);
  release(a1);
  expect("A after one of its processes exits", settled("tenant-a", 1).text(), "live=1 limit=3 denied=2");
  Hoard a3 = hoard("/tw-tenant-a", 3);
  expect("A's freed places are given back", report_of(a3), "ok ok EDQUOT");
  release(a2);
  release(a3);
  release(b);
  expect("A after all its processes exit", settled("tenant-a", 0).text(), "live=0 limit=3 denied=3");
  expect("B after its process exits", settled("tenant-b", 0).text(), "live=0 limit=8 denied=0");

  // The race: 4 processes of one profile start together, 4 tokens each, under `limit tokens 5`.
  const int rounds = 10;
  std::string counts;
  const long refused_before = create_refusals();
  for (int r = 0; r < rounds; ++r) {
    std::vector<Hoard> racers = race_together("/tw-race", 4, 0);
    if (racers.empty()) return "pipe";
    int ok = 0;
    for (auto& h : racers) ok += count_ok(h.outcomes);
    Quota q = quota_of("race");
    counts += fmt::format("{}{}/{}", r ? " " : "", ok, q.live);
    expect(fmt::format("race round {}: tokens made, live in status", r), fmt::format("{} {}", ok, q.live), "5 5");
    for (auto& h : racers) release(h);
    expect(fmt::format("race round {}: after the racers exit", r), std::to_string(settled("race", 0).live), "0");
  }
  // Every refusal is counted once, by the race profile's quota: a creation preempted inside its
  // program no longer makes another on the same CPU fail closed (`storm` below).
  const long quota_refused = quota_of("race").denied;
  const long all_refused = create_refusals() - refused_before;
  expect("race: refusals counted exactly, over all profiles", std::to_string(all_refused), std::to_string(rounds * 11));
  expect("race: refusals counted exactly, by the quota", std::to_string(quota_refused), std::to_string(rounds * 11));
  counts += fmt::format("; refused {} by the quota, {} failing closed", quota_refused, all_refused - quota_refused);
  sh(kTw + " unload");
  return "tenant A " + got_a + ", B " + got_b + "; race made/live per round " + counts;
}

// Waits until `profile` holds `maps` live maps and `progs` live programs (the kernel frees them from
// a workqueue or after an RCU grace period, after their last fd is closed).
Quota objects_settled(const std::string& profile, long maps, long progs) {
  return settle([&] { return quota_of(profile); }, [&](const Quota& q) { return q.maps == maps && q.progs == progs; });
}

const char* kObjectsPolicy = R"(policy objects;
default deny;
grants objs { allow cmd map_create, prog_load; allow map array; allow prog socket_filter;
              allow attach cgroup_inet_ingress; allow cap CAP_BPF; }
profile objs-a { match creator.cgroup under "/tw-objs-a"; use objs; limit tokens 3; limit maps 4 per profile;
                 limit progs 2 per profile; errno EDQUOT; }
profile objs-b { match creator.cgroup under "/tw-objs-b"; use objs; limit maps 8 per profile; limit progs 8 per profile; }
profile objs-race { match creator.cgroup under "/tw-objs-race"; use objs; limit maps 5 per profile; }
)";

// `limit maps|progs N per profile`: two tenants, and 4 processes racing for maps across the limit.
std::string object_quota(Expectations& expect) {
  for (const char* cg : {"/tw-objs-a", "/tw-objs-b", "/tw-objs-race"})
    mkdir((std::string("/sys/fs/cgroup") + cg).c_str(), 0755);
  std::ofstream("/tmp/objects.tw") << kObjectsPolicy;
  auto [lrc, lout] = sh(kTw + " load /tmp/objects.tw 2>&1");
  expect("load the objects policy", std::to_string(lrc), "0");
  if (lrc != 0) return "load: " + lout;

  // Tenant A: two processes, tokens, maps and programs until each limit refuses.
  Hoard a1 = hoard("/tw-objs-a", 2, -1, 2, 1);
  std::string got_a = report_of(a1);
  Hoard a2 = hoard("/tw-objs-a", 2, -1, 1, 1);
  got_a += " | " + report_of(a2);
  expect("tenant A: 2 tokens of 2 maps and a program each, then 2 of 1 and 1 under tokens 3, maps 4, progs 2", got_a,
         "ok m:ok m:ok p:ok ok m:ok m:ok p:ok | ok m:EDQUOT p:EDQUOT EDQUOT");
  Hoard b = hoard("/tw-objs-b", 2, -1, 3, 3);
  std::string got_b = report_of(b);
  expect("tenant B while A is at every limit", got_b, "ok m:ok m:ok m:ok p:ok p:ok p:ok ok m:ok m:ok m:ok p:ok p:ok p:ok");
  expect("status of A's tokens", quota_of("objs-a").text(), "live=3 limit=3 denied=1");
  expect("status of A's objects", quota_of("objs-a").objects(), "maps=4/4 denied=1 progs=2/2 denied=1");
  expect("status of B's objects", quota_of("objs-b").objects(), "maps=6/8 denied=0 progs=6/8 denied=0");
  auto [src, text] = sh(kTw + " status");
  expect.require(text.find("live maps 4/4, programs 2/2") != std::string::npos, "status text lacks objs-a's 4/4: " + text);
  auto [arc, audit] = sh(kTw + " audit");
  expect.require(audit.find("live maps of the profile over the limit") != std::string::npos &&
                     audit.find("live programs of the profile over the limit") != std::string::npos,
                 "audit lacks objs-a's refusals: " + audit);
  release(a1);
  expect("A after its first process exits: its maps and programs given back", objects_settled("objs-a", 0, 0).objects(),
         "maps=0/4 denied=1 progs=0/2 denied=1");
  Hoard a3 = hoard("/tw-objs-a", 1, -1, 5, 3);
  expect("A's freed places are taken again", report_of(a3), "ok m:ok m:ok m:ok m:ok m:EDQUOT p:ok p:ok p:EDQUOT");
  release(a2);
  release(a3);
  release(b);
  expect("A after all its processes exit", objects_settled("objs-a", 0, 0).objects(), "maps=0/4 denied=2 progs=0/2 denied=2");
  expect("B after its process exits", objects_settled("objs-b", 0, 0).objects(), "maps=0/8 denied=0 progs=0/8 denied=0");

  // The race: 4 processes of one profile, a token and 4 maps each, under `limit maps 5 per profile`.
  const int rounds = 10;
  std::string counts;
  for (int r = 0; r < rounds; ++r) {
    std::vector<Hoard> racers = race_together("/tw-objs-race", 1, 4);
    if (racers.empty()) return "pipe";
    int made = 0, tokens = 0;
    for (auto& h : racers) {
      made += count_of(h.outcomes, "m:ok");
      tokens += count_of(h.outcomes, "ok");
    }
    Quota q = quota_of("objs-race");
    counts += fmt::format("{}{}/{}", r ? " " : "", made, q.maps);
    expect(fmt::format("objects race round {}: tokens, maps made, live in status", r),
           fmt::format("{} {} {}", tokens, made, q.maps), "4 5 5");
    for (auto& h : racers) release(h);
    expect(fmt::format("objects race round {}: after the racers exit", r), std::to_string(objects_settled("objs-race", 0, 0).maps),
           "0");
  }
  expect("objects race: refusals counted exactly", std::to_string(quota_of("objs-race").maps_denied), std::to_string(rounds * 11));
  sh(kTw + " unload");
  return "objects: tenant A " + got_a + ", B " + got_b + "; race made/live per round " + counts;
}

// Shared and reserved slots, helpers for token_share.
long status_of(const std::string& key) {
  auto j = nlohmann::json::parse(sh(kTw + " status --json 2>/dev/null").second, nullptr, false);
  return j.is_object() && j[key].is_number() ? j[key].get<long>() : -1;
}

long shared_settled(long used) {
  return settle([] { return status_of("shared_tokens_used"); }, [&](long n) { return n == used; });
}

const char* kSharePolicy = R"(policy share;
default deny;
profile hog { match creator.cgroup under "/tw-hog"; allow cmd map_create; allow map array; }
profile kept { match creator.cgroup under "/tw-kept"; allow cmd map_create; allow map array; reserve tokens 2; }
)";

// `reserve tokens`: a token table of 8 slots, 2 of them kept for one profile. Another profile
// taking every shared slot does not make the reserved ones fail; a reservation larger than the
// table is refused at replace and leaves the policy enforcing.
std::string token_share(Expectations& expect) {
  for (const char* cg : {"/tw-hog", "/tw-kept"}) mkdir((std::string("/sys/fs/cgroup") + cg).c_str(), 0755);
  std::ofstream("/tmp/share.tw") << kSharePolicy;
  auto [lrc, lout] = sh(kTw + " load --token-capacity 8 /tmp/share.tw 2>&1");
  expect("load the share policy with 8 token slots", std::to_string(lrc), "0");
  if (lrc != 0) return "load: " + lout;
  Hoard hog = hoard("/tw-hog", 8);
  std::string got_hog = report_of(hog);
  expect("the hog takes every shared slot", got_hog, "ok ok ok ok ok ok ENOSPC ENOSPC");
  Hoard kept = hoard("/tw-kept", 3);
  std::string got_kept = report_of(kept);
  expect("the reserving profile while the shared slots are taken", got_kept, "ok ok ENOSPC");
  expect("status: reserved, shared used", fmt::format("{} {}", status_of("tokens_reserved"), status_of("shared_tokens_used")),
         "2 6");
  expect("status: refusals for want of a slot", std::to_string(status_of("token_table_full")), "3");
  auto [arc, audit] = sh(kTw + " audit");
  expect.require(audit.find("the token table's shared slots are all taken") != std::string::npos,
                 "audit lacks the shared-slot refusals: " + audit);
  release(hog);
  expect("shared slots after the hog exits", std::to_string(shared_settled(0)), "0");
  Hoard more = hoard("/tw-kept", 2);
  expect("the reserving profile beyond its reservation, with room", report_of(more), "ok ok");
  expect("shared slots it took", std::to_string(status_of("shared_tokens_used")), "2");
  std::ofstream("/tmp/share-big.tw") << std::string(kSharePolicy).replace(std::string(kSharePolicy).find("reserve tokens 2"), 16,
                                                                            "reserve tokens 9");
  auto [rrc, rout] = sh(kTw + " replace /tmp/share-big.tw 2>&1");
  expect.require(rrc != 0 && rout.find("more than the token table holds (8)") != std::string::npos,
                 "a reservation over the table was not refused: " + rout);
  auto [src, stext] = sh(kTw + " status");
  expect.require(stext.find("policy `share` generation 1") != std::string::npos, "the policy changed: " + stext);
  release(more);
  release(kept);
  expect("shared slots after all exit", std::to_string(shared_settled(0)), "0");
  sh(kTw + " unload");
  return "share: hog " + got_hog + ", kept " + got_kept;
}

// ---- `limit tokens N per uid|userns`: creators, a race, and churn -----------------------------

// The creator counts of `profile` in `status --json`: "uids=U most=M userns=N most=K".
std::string creators_of(const std::string& profile) {
  auto j = nlohmann::json::parse(sh(kTw + " status --json 2>/dev/null").second, nullptr, false);
  if (!j.is_object() || !j["counters"].is_array()) return "no status";
  for (const auto& c : j["counters"])
    if (c["profile"] == profile)
      return fmt::format("uids={} most={} userns={} most={}", c["uids"].get<long>(), c["most_uid_tokens"].get<long>(),
                         c["userns"].get<long>(), c["most_userns_tokens"].get<long>());
  return "uids=0 most=0 userns=0 most=0";
}

long creators_settled(long n) {
  return settle([] { return status_of("creators"); }, [&](long v) { return v == n; });
}

// `procs` processes of host uid `uid` in `cg`, started together, each creating and closing a token
// `n` times: how many creations were made and refused, by errno ("ok=.. EDQUOT=.."). The kernel
// frees a closed token from a workqueue, so creations meet frees of the same creator's tokens.
std::string churn(const std::string& cg, uint32_t uid, int n, int procs = 2) {
  int start[2], out[2];
  if (pipe(start) != 0 || pipe(out) != 0) return "pipe";
  std::vector<pid_t> pids;
  for (int i = 0; i < procs; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      close(start[1]);
      close(out[0]);
      move_to_cgroup(cg);
      DelegateSpec spec;
      spec.masks.cmds = 1ULL << BPF_MAP_CREATE;
      spec.masks.maps = 1ULL << BPF_MAP_TYPE_ARRAY;
      spec.host_uid = uid;
      in_delegated(spec, [&](DelegatedMount& m) {
        char c = 0;
        (void)!read(start[0], &c, 1);
        std::map<std::string, int> seen;
        for (int k = 0; k < n; ++k) ++seen[outcome_of(token_create(m.root_fd.get()))];  // closed at once
        std::string line;
        for (const auto& [what, count] : seen) line += fmt::format("{}={} ", what, count);
        line += "\n";
        (void)!write(out[1], line.data(), line.size());
        return std::string("-");
      });
      _exit(0);
    }
    pids.push_back(pid);
  }
  close(start[0]);
  close(out[1]);
  usleep(100 * 1000);
  close(start[1]);  // end of file: all start at once
  for (pid_t p : pids) waitpid(p, nullptr, 0);
  std::map<std::string, int> total;
  std::string text;
  char buf[512];
  for (ssize_t r; (r = read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(r));
  close(out[0]);
  std::istringstream in(text);
  for (std::string w; in >> w;)
    if (auto eq = w.find('='); eq != std::string::npos) total[w.substr(0, eq)] += std::stoi(w.substr(eq + 1));
  std::string said;
  for (const auto& [what, count] : total) said += fmt::format("{}{}={}", said.empty() ? "" : " ", what, count);
  return said;
}

const char* kCreatorsPolicy = R"(policy creators;
default deny;
profile crowd { match creator.cgroup under "/tw-crowd"; allow cmd map_create; allow map array;
                limit tokens 2 per userns; limit tokens 3 per uid; errno EDQUOT; }
profile crowd-race { match creator.cgroup under "/tw-crowd-race"; allow cmd map_create; allow map array; limit tokens 5 per uid; }
profile crowd-churn { match creator.cgroup under "/tw-crowd-churn"; allow cmd map_create; allow map array; limit tokens 1 per uid; }
)";

// Tokens per creator: one uid over several user namespaces, one namespace, another uid; exact
// status; the creator table empties when they exit; 4 processes of one uid race across the limit;
// creations and frees of one creator churn, and afterwards the limit still holds exactly.
std::string creator_quota(Expectations& expect) {
  for (const char* cg : {"/tw-crowd", "/tw-crowd-race", "/tw-crowd-churn"})
    mkdir((std::string("/sys/fs/cgroup") + cg).c_str(), 0755);
  std::ofstream("/tmp/creators.tw") << kCreatorsPolicy;
  auto [lrc, lout] = sh(kTw + " load /tmp/creators.tw 2>&1");
  expect("load the creators policy", std::to_string(lrc), "0");
  if (lrc != 0) return "load: " + lout;

  Hoard h1 = hoard("/tw-crowd", 3, -1, 0, 0, 2001);
  std::string got = report_of(h1);
  Hoard h2 = hoard("/tw-crowd", 2, -1, 0, 0, 2001);
  got += " | " + report_of(h2);
  Hoard h3 = hoard("/tw-crowd", 2, -1, 0, 0, 2002);
  got += " | " + report_of(h3);
  expect("uid 2001 in two namespaces, then uid 2002 (2 per userns, 3 per uid)", got, "ok ok EDQUOT | ok EDQUOT | ok ok");
  expect("status: the crowd's creators", creators_of("crowd"), "uids=2 most=3 userns=3 most=2");
  expect("status: creator slots used", std::to_string(status_of("creators")), "5");
  expect("status: crowd's tokens and refusals", quota_of("crowd").text(), "live=5 limit=-1 denied=2");
  auto [src, text] = sh(kTw + " status");
  expect.require(text.find("tokens per uid most 3/3 of 2 uids, tokens per userns most 2/2 of 3 user namespaces") !=
                     std::string::npos,
                 "status text lacks the crowd's creators: " + text);
  auto [arc, audit] = sh(kTw + " audit");
  expect.require(audit.find("live tokens of the user namespace over the limit (3 > 2)") != std::string::npos &&
                     audit.find("token userns ") != std::string::npos &&
                     audit.find("live tokens of the creator's uid over the limit (4 > 3)") != std::string::npos &&
                     audit.find("token uid 2001") != std::string::npos,
                 "audit lacks the creators' refusals: " + audit);
  release(h1);
  expect("creator slots after uid 2001's first namespace exits", std::to_string(creators_settled(4)), "4");
  Hoard h4 = hoard("/tw-crowd", 3, -1, 0, 0, 2001);
  expect("uid 2001's freed places come back", report_of(h4), "ok ok EDQUOT");
  release(h2);
  release(h3);
  release(h4);
  expect("creator slots after all exit", std::to_string(creators_settled(0)), "0");
  expect("status: no creators", creators_of("crowd"), "uids=0 most=0 userns=0 most=0");

  const int rounds = 10;
  std::string counts;
  for (int r = 0; r < rounds; ++r) {
    std::vector<Hoard> racers = race_together("/tw-crowd-race", 4, 0, 2003);
    if (racers.empty()) return "pipe";
    int ok = 0;
    for (auto& h : racers) ok += count_ok(h.outcomes);
    counts += fmt::format("{}{}", r ? " " : "", ok);
    expect(fmt::format("creators race round {}: tokens made, the uid's most in status", r),
           fmt::format("{} {}", ok, creators_of("crowd-race")), "5 uids=1 most=5 userns=0 most=0");
    for (auto& h : racers) release(h);
    expect(fmt::format("creators race round {}: the table after the racers exit", r), std::to_string(creators_settled(0)), "0");
  }

  std::string churned = churn("/tw-crowd-churn", 2004, 300);
  expect.require(churned.find("ok=") != std::string::npos, "churn made no token: " + churned);
  expect("creator slots after the churn", std::to_string(creators_settled(0)), "0");
  Hoard after = hoard("/tw-crowd-churn", 2, -1, 0, 0, 2004);
  expect("the churned uid still holds at most 1", report_of(after), "ok EPERM");
  release(after);
  expect("creator slots at the end", std::to_string(creators_settled(0)), "0");
  sh(kTw + " unload");
  return "creators: " + got + "; race made per round " + counts + "; churn " + churned;
}

const char* kStormPolicy = R"(policy storm;
default deny;
profile storm { match creator.cgroup under "/tw-storm"; allow cmd map_create; allow map array; }
)";

// More creators than CPUs, each creating and closing tokens as fast as it can: on a preemptible
// kernel the scheduler preempts creations inside their program, and another creation runs on that
// CPU meanwhile. Each has scratch of its own, so none is refused: every creation is allowed and
// no refusal is counted, under any profile.
std::string storm(Expectations& expect) {
  mkdir("/sys/fs/cgroup/tw-storm", 0755);
  std::ofstream("/tmp/storm.tw") << kStormPolicy;
  auto [lrc, lout] = sh(kTw + " load /tmp/storm.tw 2>&1");
  expect("load the storm policy", std::to_string(lrc), "0");
  if (lrc != 0) return "load: " + lout;
  const int procs = 6, each = 150;
  std::string got = churn("/tw-storm", 2005, each, procs);
  expect(fmt::format("storm: {} processes creating and closing {} tokens each", procs, each), got,
         fmt::format("ok={}", procs * each));
  expect("storm: refused token creations, any profile", std::to_string(create_refusals()), "0");
  sh(kTw + " unload");
  return fmt::format("storm of {}x{} creations: {}", procs, each, got);
}

Outcome faults() {
  Expectations expect;
  expect.log = true;
  for (const char* cg : {"/tw-robust", "/tw-stranger"}) mkdir((std::string("/sys/fs/cgroup") + cg).c_str(), 0755);
  sh(kTw + " unload >/dev/null 2>&1");
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  expect("online CPUs", std::to_string(cpus), "2");
  std::string detail = fmt::format("{} CPUs; ", cpus);
  detail += concurrently(expect, "two loads", "true", "load /policies/robust-a.tw", "load /policies/robust-b.tw", 10);
  detail += "; " + concurrently(expect, "unload and replace", kTw + " load /policies/robust-a.tw >/dev/null", "unload",
                                "replace /policies/robust-b.tw", 10);
  detail += "; " + concurrently(expect, "load and unload", "true", "load /policies/robust-a.tw", "unload", 10);
  detail += "; " + drops(expect);
  detail += "; " + injected(expect);
  detail += "; " + token_quota(expect);
  detail += "; " + object_quota(expect);
  detail += "; " + token_share(expect);
  detail += "; " + creator_quota(expect);
  detail += "; " + storm(expect);
  return expect.result(detail);
}


Outcome robustness() {
  Expectations expect;
  expect.log = true;
  for (const char* cg : {"/tw-robust", "/tw-stranger"}) mkdir((std::string("/sys/fs/cgroup") + cg).c_str(), 0755);
  sh(kTw + " unload");
  fail_closed(expect);
  if (!expect.bad.empty()) return expect.result("fail closed");
  race(expect, 40);
  kills(expect);
  return expect.result("removed tables fail closed (settings, profiles, conjunctions), 40 rounds of two concurrent "
                       "replaces gave one whole policy each, SIGKILL at each of 13 writer steps left a whole policy "
                       "or none, with no program attached");
}

}  // namespace twvm
