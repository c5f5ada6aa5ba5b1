// SPDX-License-Identifier: Apache-2.0
// Policies from observation: recorded events read back (errors at their line), replayed under a
// candidate policy against the kernel's verdicts, and turned into a policy and cases that check
// clean and pass.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "compile_support.h"
#include "compiler/cases.h"
#include "compiler/event_log.h"
#include "compiler/generate.h"
#include "compiler/loader.h"
#include "compiler/replay.h"

using namespace tw;
using namespace tw::compiler;

namespace {

// One event as `audit --follow --json` records it.
struct Ev {
  std::string hook, verdict = "audit", what, reason = "x";
  nlohmann::json request;
  std::string token = "0xff01", profile = "app";
  uint32_t tid = 7;
  std::optional<std::string> cgroup;
  std::optional<uint64_t> value, limit;
  int second = 0;
  std::string line() const {
    nlohmann::json e = {{"time", fmt::format("2026-12-04T02:00:{:02}.000001Z", second)}, {"verdict", verdict}, {"hook", hook},
                        {"what", what}, {"profile", profile}, {"reason", reason}, {"pid", tid}, {"tgid", 7},
                        {"comm", "app"}, {"uid", 1000}, {"gid", 1000}, {"cgroup_id", 1}, {"token", token},
                        {"errno", verdict == "allow" ? nlohmann::json() : nlohmann::json("EPERM")},
                        {"value", value ? nlohmann::json(*value) : nlohmann::json()},
                        {"limit", limit ? nlohmann::json(*limit) : nlohmann::json()}, {"request", request},
                        {"cgroup", cgroup ? nlohmann::json(*cgroup) : nlohmann::json()}, {"exe", nullptr}};
    return nlohmann::json({{"schema", 1}, {"verb", "audit"}, {"event", e}}).dump();
  }
};

Ev create(std::vector<std::string> maps = {"array"}, std::string verdict = "allow") {
  return {"bpf_token_create", verdict, "token", "labelled with its profile",
          {{"delegates", {{"cmds", {"map_create", "prog_load", "btf_load"}}, {"maps", maps}, {"progs", {"socket_filter"}},
                          {"attachs", {"cgroup_inet_ingress"}}}},
           {"userns_owner", 0},
           {"userns_depth", 1}},
          "0xff01", "app", 7, "/system.slice/app.service"};
}
Ev cmd(const std::string& c) { return {"bpf_token_cmd", "audit", "cmd " + c, "command not allowed", {{"cmd", c}}}; }
Ev cap(const std::string& c) { return {"bpf_token_capable", "audit", c, "capability not allowed", {{"capability", c}}}; }
Ev map(const std::string& type, uint32_t entries, uint32_t value = 8) {
  return {"bpf_map_create", "audit", "map " + type, "map type not allowed",
          {{"map", type}, {"max_entries", entries}, {"key_size", 4}, {"value_size", value}, {"flags", 0}}};
}
Ev prog(uint32_t insns) {
  return {"bpf_prog_load", "audit", "prog socket_filter attach cgroup_inet_ingress", "program type not allowed",
          {{"prog", "socket_filter"}, {"attach", "cgroup_inet_ingress"}, {"insns", insns}, {"sleepable", false}}};
}

// What a libbpf application does with its token: a probe, BTF, a map, a program (the verifier
// asking CAP_PERFMON after the load).
std::vector<Ev> workload() {
  return {create(),          cmd("prog_load"), cap("CAP_BPF"),     prog(2),           cap("CAP_PERFMON"),
          cmd("btf_load"),   cap("CAP_BPF"),   cmd("map_create"),  cap("CAP_BPF"),    map("hash", 1000),
          cmd("prog_load"),  cap("CAP_BPF"),   prog(40),           cap("CAP_PERFMON"), cap("CAP_PERFMON")};
}

std::string lines(const std::vector<Ev>& evs) {
  std::string s;
  for (const auto& e : evs) s += e.line() + "\n";
  return s;
}

struct Read {
  SourceSet sources;
  Diagnostics diags;
  std::optional<EventLog> log;
  std::vector<std::string> codes;  // "E042@2:1"
};

Read read(const std::string& text) {
  Read r;
  uint32_t id = r.sources.add("events.jsonl", text);
  r.log = read_event_log(r.sources, id, r.diags);
  for (const auto& d : r.diags.all()) {
    auto at = r.sources.locate(d.span);
    r.codes.push_back(fmt::format("{}@{}:{}", code_name(d.code), at.line, at.col));
  }
  return r;
}

const char* kLearn = "policy learn;\nprofile app {\n  match creator.cgroup == \"/system.slice/app.service\";\n  mode audit;\n}\n";

struct Gen {
  Read events;
  std::optional<Generated> out;
  Diagnostics diags;
};

Gen gen(const std::vector<Ev>& evs, GenerateOptions o = {}) {
  Gen g{read(lines(evs))};
  auto learning = test::compile_text(kLearn);
  REQUIRE(learning.ir);
  SourceSet s;
  Diagnostics d;
  auto read_mem = [](const std::string&, std::string&) -> std::optional<FileContents> { return FileContents(kLearn); };
  auto stmts = load_policy("p.tw", s, d, read_mem);
  REQUIRE(g.events.log);
  g.out = generate(stmts, s, *learning.ir, *g.events.log, o, g.diags);
  return g;
}

}  // namespace

TEST_CASE("event log: each malformed line is an error at its line, and nothing is read") {
  std::string good = create().line();
  auto r = read(good + "\nnot json\n" + cmd("map_creat").line() + "\n{\"hook\":\"bpf_token_cmd\"}\n" +
                Ev{"bpf_map_create", "audit", "map", "x", nullptr}.line() + "\n" + Ev{"bpf_tokn_cmd", "audit"}.line() + "\n");
  CHECK_FALSE(r.log);
  CHECK(r.codes == std::vector<std::string>{"E042@2:1", "E042@3:1", "E042@4:1", "E042@5:1", "E042@6:1"});
  std::string all;
  for (const auto& d : r.diags.all()) all += d.message + "\n";
  CHECK(all.find("not JSON") != std::string::npos);
  CHECK(all.find("map_creat") != std::string::npos);
  CHECK(all.find("no `verdict`") != std::string::npos);
  CHECK(all.find("before ABI 9") != std::string::npos);
  CHECK(all.find("bpf_tokn_cmd") != std::string::npos);
}

TEST_CASE("event log: the document form, stream records without events and the guard's are read") {
  nlohmann::json doc = {{"schema", 1}, {"verb", "audit"}, {"events", nlohmann::json::array()}};
  for (const auto& e : workload()) doc["events"].push_back(nlohmann::json::parse(e.line())["event"]);
  doc["events"].push_back({{"hook", "guard"}});
  auto r = read(doc.dump(2));
  REQUIRE(r.log);
  CHECK(r.log->events.size() == workload().size());
  CHECK(r.log->other_records == 1);
  const auto& m = r.log->events[9];
  CHECK(m.event.hook == Hook::map_create);
  CHECK(m.event.map.max_entries == 1000);
  CHECK(m.verdict == Outcome::audit);
  CHECK(r.log->events[0].event.creator.cgroup == "/system.slice/app.service");
  CHECK(r.log->events[0].cgroup_known);

  auto s = read("{\"schema\":1,\"verb\":\"audit\",\"notice\":{}}\n\n" + create().line() + "\n");
  REQUIRE(s.log);
  CHECK(s.log->events.size() == 1);
  CHECK(s.log->other_records == 1);
}

TEST_CASE("replay: the recording's own policy gives the kernel's verdicts; another says what changes") {
  auto learning = test::compile_text(kLearn);
  REQUIRE(learning.ir);
  auto r = read(lines(workload()));
  REQUIRE(r.log);
  auto same = replay(*learning.ir, *r.log);
  CHECK(same.same == workload().size());
  CHECK(same.changes.empty());

  auto narrow = test::compile_text(
      "policy n;\nprofile app {\n  match creator.cgroup == \"/system.slice/app.service\";\n"
      "  allow cmd map_create, prog_load, btf_load;\n  allow cap CAP_BPF;\n  allow prog socket_filter;\n"
      "  allow attach cgroup_inet_ingress;\n}\n");
  REQUIRE(narrow.ir);
  auto n = replay(*narrow.ir, *r.log);
  CHECK(n.newly_allowed == 10);  // the commands, CAP_BPF, the programs
  CHECK(n.mode == 4);            // CAP_PERFMON 3x and the hash map: audited then, refused now
  CHECK(n.same == 1);            // the creation
  bool hash_refused = false;
  for (const auto& c : n.changes)
    if (c.what == "map hash") hash_refused = c.change == Change::mode && c.now == Outcome::deny && c.rule == "p.tw:2:9";
  CHECK(hash_refused);
}

TEST_CASE("replay: counts per token are kept; a creation without its facts and a token without its creation are not guessed") {
  auto p = test::compile_text(
      "policy q;\nprofile app {\n  match creator.cgroup == \"/system.slice/app.service\";\n  allow cmd map_create;\n"
      "  allow map hash;\n  allow cap CAP_BPF;\n  limit maps 2;\n}\n");
  REQUIRE(p.ir);
  auto allowed = [](Ev e) {
    e.verdict = "allow";
    return e;
  };
  Ev third = map("hash", 8);
  third.verdict = "deny";
  auto r = read(lines({allowed(create()), allowed(map("hash", 8)), allowed(map("hash", 8)), third}));
  REQUIRE(r.log);
  auto rep = replay(*p.ir, *r.log);
  CHECK(rep.same == 4);  // the third map is over `limit maps 2` in the replay too

  Ev gone = create();
  gone.cgroup.reset();
  Ev other = cmd("map_create");
  other.token = "0xff02";
  auto u = read(lines({gone, cmd("map_create"), other}));
  REQUIRE(u.log);
  auto rep2 = replay(*p.ir, *u.log);
  CHECK(rep2.undecidable == 2);
  CHECK(rep2.without_creation == 1);
  CHECK(rep2.events[0].why_not.find("creator.cgroup") != std::string::npos);
}

TEST_CASE("generate: what was used, the verifier's questions not granted, limits with headroom; it checks clean and its cases pass") {
  auto g = gen(workload());
  REQUIRE(g.out);
  const std::string& t = g.out->policy;
  INFO(t);
  CHECK(t.find("match creator.cgroup == \"/system.slice/app.service\";") != std::string::npos);
  CHECK(t.find("allow map hash;") != std::string::npos);
  CHECK(t.find("allow cap CAP_BPF;") != std::string::npos);
  CHECK(t.find("allow cap CAP_PERFMON") == std::string::npos);
  CHECK(t.find("# not granted: CAP_PERFMON, asked 3 times") != std::string::npos);
  CHECK(t.find("allow probes;") != std::string::npos);
  CHECK(t.find("limit max_entries 1250;") != std::string::npos);  // 1000 + 25%
  CHECK(t.find("limit insns 50;") != std::string::npos);          // 40 + 25%
  // The bpffs delegated array maps too, which were never used: not strict, and a refusal case.
  CHECK(t.find("# not strict: the bpffs delegated more than was used") == std::string::npos);
  CHECK(t.find("strict;") != std::string::npos);  // array is what probes need: strict allows it with `allow probes`
  auto c = test::compile_files({{"gen.tw", t}}, "gen.tw");
  REQUIRE(c.ir);
  CHECK(c.diags.all().empty());  // no warning either
  Diagnostics d;
  uint32_t id = c.sources.add("gen.cases", g.out->cases);
  auto cases = parse_cases(c.sources, id, d);
  CHECK_FALSE(d.has_errors());
  CHECK(cases.size() >= 10);
  size_t refusals = 0;
  for (const auto& k : cases) {
    auto res = run_case(*c.ir, k);
    CHECK_MESSAGE(res.passed, k.name << ": " << res.diff);
    refusals += k.expect.outcome == Outcome::deny;
  }
  CHECK(refusals >= 4);  // CAP_PERFMON, max_entries, insns, sleepable

  GenerateOptions grant;
  grant.grant_verifier_caps = true;
  grant.headroom_percent = 0;
  auto g2 = gen(workload(), grant);
  REQUIRE(g2.out);
  CHECK(g2.out->policy.find("allow cap CAP_PERFMON;") != std::string::npos);
  CHECK(g2.out->policy.find("limit max_entries 1000;") != std::string::npos);
}

TEST_CASE("generate: a delegation wider than the use is not strict, and what it would allow is a refusal case") {
  auto evs = workload();
  evs[0] = create({"array", "hash", "ringbuf"});
  auto g = gen(evs);
  REQUIRE(g.out);
  INFO(g.out->policy);
  CHECK(g.out->policy.find("# not strict: the bpffs delegated more than was used (map type ringbuf)") != std::string::npos);
  CHECK(g.out->cases.find("[app: map type ringbuf: delegated, never used]") != std::string::npos);
}

TEST_CASE("generate: nothing labelled by the learning policy is an error, and nothing is generated") {
  Ev stranger = create();
  stranger.profile = "-";
  auto g = gen({stranger, cmd("map_create")});
  CHECK_FALSE(g.out);
  CHECK(g.diags.has(Code::E043));
}

TEST_CASE("event log: the agent's journal entries (journalctl -o json), a folded one standing for its count") {
  auto entry = [](const std::string& hook, const std::string& request, const std::string& count, const std::string& extra = "") {
    return nlohmann::json::parse(fmt::format(
               R"({{"MESSAGE":"m","TW_VERDICT":"audit","TW_HOOK":"{}","TW_PROFILE":"app","TW_REASON":"x","TW_PID":"7",)"
               R"("TW_TID":"7","TW_COMM":"app","TW_UID":"1000","TW_GID":"1000","TW_EVENT_TIME":"2026-12-04T02:00:00.000001Z",)"
               R"("TW_COUNT":"{}","TW_TOKEN":"0xff01","TW_REQUEST":{}{}}})",
               hook, count, nlohmann::json(request).dump(), extra))
        .dump();
  };
  std::string create_req = R"({"delegates":{"cmds":["map_create"],"maps":["hash"],"progs":[],"attachs":[]},"userns_owner":0,"userns_depth":1})";
  auto r = read(R"({"MESSAGE":"reading the audit events","PRIORITY":"6"})" "\n" +
                entry("bpf_token_create", create_req, "1", R"(,"TW_CGROUP":"/system.slice/app.service")") + "\n" +
                entry("bpf_token_cmd", R"({"cmd":"map_create"})", "3") + "\n");
  REQUIRE(r.log);
  CHECK(r.log->events.size() == 4);
  CHECK(r.log->other_records == 1);
  CHECK(r.log->events[0].cgroup_known);
  CHECK(r.log->events[3].event.cmd == 0);

  auto bad = read(entry("bpf_token_cmd", R"({"cmd":"map_create"})", "99999999999999999999999") + "\n");
  CHECK_FALSE(bad.log);
  CHECK(bad.codes == std::vector<std::string>{"E042@1:1"});
}
