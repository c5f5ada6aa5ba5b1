// SPDX-License-Identifier: Apache-2.0
// The reference evaluator on table-driven cases: every example policy's case file, plus cases
// written against small policies here.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "compile_support.h"
#include "compiler/cases.h"
#include "compiler/explain.h"

using namespace tw::compiler;
using tw::test::compile_text;

namespace {

std::vector<CaseResult> run_cases(const Ir& ir, const std::string& cases_text, std::vector<DecisionCase>& keep) {
  SourceSet s;
  Diagnostics d;
  keep = parse_cases(s, s.add("t.cases", cases_text), d);
  for (const auto& x : d.all()) FAIL(render_text(x, s));
  std::vector<CaseResult> out;
  for (const auto& c : keep) out.push_back(run_case(ir, c));
  return out;
}

void all_pass(const std::string& policy, const std::string& cases) {
  auto c = compile_text(policy);
  REQUIRE(c.ir);
  std::vector<DecisionCase> keep;
  for (const auto& r : run_cases(*c.ir, cases, keep)) {
    CAPTURE(r.c->name);
    CAPTURE(r.got.reason);
    CHECK_MESSAGE(r.passed, r.diff);
  }
}

}  // namespace

TEST_CASE("evaluator: first match wins, in declaration order") {
  all_pass(
      "profile a { match creator.uid == 1; allow cmd map_create; }\n"
      "profile b { match creator.uid in 0..10; allow cmd prog_load; }\n",
      "[a]\nhook=token_create\ncreator=uid=1\nexpect=allow a\n"
      "[b]\nhook=token_create\ncreator=uid=2\nexpect=allow b\n"
      "[none]\nhook=token_create\ncreator=uid=11\nexpect=deny -\n"
      "[a's grants]\nhook=token_cmd\ncreator=uid=1\ncmd=prog_load\nexpect=deny a\n"
      "[b's grants]\nhook=token_cmd\ncreator=uid=2\ncmd=prog_load\nexpect=allow b\n");
}

TEST_CASE("evaluator: modes") {
  all_pass(
      "mode audit;\n"
      "profile e { match creator.uid == 1; mode enforce; }\n"
      "profile a { match creator.uid == 2; }\n"
      "profile o { match creator.uid == 3; mode off; }\n",
      "[enforce]\nhook=token_capable\ncreator=uid=1\ncap=CAP_BPF\nexpect=deny e errno=EPERM\n"
      "[audit]\nhook=token_capable\ncreator=uid=2\ncap=CAP_BPF\nexpect=audit a\n"
      "[off]\nhook=token_capable\ncreator=uid=3\ncap=CAP_BPF\nexpect=allow o\n"
      "[default deny in audit mode]\nhook=token_create\ncreator=uid=4\nexpect=audit -\n"
      "[...and the token it lets through]\nhook=token_cmd\ncreator=uid=4\ncmd=map_create\nexpect=audit -\n");
}

TEST_CASE("evaluator: strict and refuse at creation") {
  all_pass(
      "profile r { match token delegates prog kprobe; refuse; errno EACCES; }\n"
      "profile s { match any; strict; allow cmd map_create; allow map array; }\n",
      "[refused]\nhook=token_create\ntoken=progs=kprobe,xdp\nexpect=deny r errno=EACCES\n"
      "[strict, exact]\nhook=token_create\ntoken=cmds=map_create maps=array\nexpect=allow s\n"
      "[strict, narrower]\nhook=token_create\ntoken=cmds=map_create\nexpect=allow s\n"
      "[strict, wider]\nhook=token_create\ntoken=cmds=map_create maps=array,hash\nexpect=deny s\n"
      "[uses of a refused token]\nhook=token_cmd\ntoken=progs=kprobe\ncmd=map_create\nexpect=deny r\n");
}

TEST_CASE("evaluator: the BPF LSM does not see SELinux types") {
  auto c = compile_text("profile se { match creator.selinux_type == container_t; }\nprofile rest { match any; }");
  REQUIRE(c.ir);
  Event e;
  e.creator.selinux_type = "container_t";
  CHECK(evaluate(*c.ir, e).profile == "se");
  e.creator.selinux_type.reset();  // what a BPF program knows
  CHECK(evaluate(*c.ir, e).profile == "rest");
}

TEST_CASE("evaluator: the delegating domain, from a case file") {
  all_pass(R"(profile from-mgr { match creator.selinux_type == app_t and token.delegator.selinux_type == mgr_t;
  allow cmd map_create; allow map array; }
profile rest { match any; refuse; })",
           R"([app_t with a token from mgr_t's bpffs]
hook    = token_create
creator = selinux_type=app_t
token   = delegator_type=mgr_t
expect  = allow from-mgr

[app_t with a token from someone else's bpffs]
hook    = token_create
creator = selinux_type=app_t
token   = delegator_type=other_t
expect  = deny rest

[under the BPF LSM, which sees no SELinux types]
hook    = token_create
expect  = deny rest
)");
}

TEST_CASE("evaluator: limits name the rule that decided") {
  auto c = compile_text("profile p { match any;\n  allow cmd map_create;\n  allow map hash;\n  limit key_size 8;\n}");
  REQUIRE(c.ir);
  Event e;
  e.hook = Hook::map_create;
  e.map.type = 1;
  e.map.key_size = 16;
  auto d = evaluate(*c.ir, e);
  CHECK(d.outcome == Outcome::deny);
  CHECK(d.rule == "p.tw:4:3");
  CHECK(d.reason == "key_size 16 exceeds `limit key_size 8` of profile `p`");
  e.map.key_size = 8;
  d = evaluate(*c.ir, e);
  CHECK(d.outcome == Outcome::allow);
  CHECK(d.rule == "p.tw:3:3");
}

TEST_CASE("evaluator: every example's case file passes") {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(TW_SOURCE_DIR) / "examples";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".cases") continue;
    ++files;
    fs::path policy = entry.path();
    policy.replace_extension(".tw");
    CAPTURE(policy.string());
    auto c = compile_policy(policy.string());
    REQUIRE(c.ir);
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<DecisionCase> keep;
    auto results = run_cases(*c.ir, ss.str(), keep);
    CHECK(results.size() >= 5);
    for (const auto& r : results) {
      CAPTURE(r.c->name);
      CHECK_MESSAGE(r.passed, r.diff);
    }
  }
  CHECK(files >= 4);
}

TEST_CASE("explain: the policy's refusals in mode audit are said as the evaluator decides them") {
  auto c = tw::test::compile_text("policy p; mode audit; default deny; preexisting deny;\n"
                                  "profile a { match creator.uid == 1; allow cmd map_create; }\n");
  REQUIRE(c.ir);
  std::string text = explain(*c.ir);
  CHECK(text.find("otherwise: token creation is logged, then allowed (mode audit) (default deny)") != std::string::npos);
  CHECK(text.find("before the policy was loaded: every use logged, then allowed (mode audit)") != std::string::npos);
  tw::compiler::Event e;
  e.preexisting = true;
  e.hook = tw::compiler::Hook::map_create;
  CHECK(evaluate(*c.ir, e).outcome == tw::compiler::Outcome::audit);  // what explain says
}

TEST_CASE("evaluator: `limit tokens` counts the profile's live tokens, whoever made them") {
  all_pass(
      "profile q { match creator.uid == 1; allow cmd map_create; allow map array; limit tokens 3; errno EDQUOT; }\n"
      "profile free { match any; allow cmd map_create; allow map array; }\n",
      "[the first]\nhook=token_create\ncreator=uid=1\nexpect=allow q\n"
      "[the third]\nhook=token_create\ncreator=uid=1\ntokens_live=2\nexpect=allow q\n"
      "[one more]\nhook=token_create\ncreator=uid=1\ntokens_live=3\nexpect=deny q errno=EDQUOT\n"
      "[far over]\nhook=token_create\ncreator=uid=1\ntokens_live=1000\nexpect=deny q\n"
      "[another profile is not counted against it]\nhook=token_create\ncreator=uid=2\ntokens_live=1000\nexpect=allow free\n");
  auto c = compile_text("profile q { match any; limit tokens 3; }");
  REQUIRE(c.ir);
  Event e;
  e.hook = Hook::token_create;
  e.tokens_live = 3;
  auto d = evaluate(*c.ir, e);
  CHECK(d.reason.find("live token number 4 exceeds `limit tokens 3`") != std::string::npos);
  CHECK(explain(*c.ir).find("at most 3 live tokens of this profile at once") != std::string::npos);
}

TEST_CASE("evaluator: `limit tokens N per uid|userns` counts one creator's live tokens of the profile") {
  all_pass(
      "profile c { match any; limit tokens 5; limit tokens 3 per uid; limit tokens 2 per userns; errno EDQUOT; }\n",
      "[defaults]\nhook=token_create\ncreator=uid=1000\n"
      "[the second of its namespace]\nuserns_tokens_live=1\nuid_tokens_live=1\ntokens_live=1\nexpect=allow c\n"
      "[a third in one namespace]\nuserns_tokens_live=2\nuid_tokens_live=2\ntokens_live=2\nexpect=deny c errno=EDQUOT\n"
      "[the uid's third, in a namespace of its own]\nuid_tokens_live=2\ntokens_live=4\nexpect=allow c\n"
      "[the uid's fourth]\nuid_tokens_live=3\ntokens_live=3\nexpect=deny c errno=EDQUOT\n"
      "[another uid, the profile's fifth]\ncreator=uid=1001\ntokens_live=4\nexpect=allow c\n"
      "[the profile's limit comes first]\ncreator=uid=1001\ntokens_live=5\nexpect=deny c errno=EDQUOT\n");
  auto c = compile_text("profile c { match any; limit tokens 3 per uid; limit tokens 2 per userns; }");
  REQUIRE(c.ir);
  Event e;
  e.hook = Hook::token_create;
  e.creator.uid = 1000;
  e.uid_tokens_live = 3;
  auto d = evaluate(*c.ir, e);
  CHECK(d.reason.find("uid 1000's live token number 4 exceeds `limit tokens 3 per uid`") != std::string::npos);
  CHECK(d.rule == "p.tw:1:24");
  e.uid_tokens_live = 0;
  e.userns_tokens_live = 2;
  CHECK(evaluate(*c.ir, e).reason.find("the user namespace's live token number 3 exceeds `limit tokens 2 per userns`") !=
        std::string::npos);
  std::string x = explain(*c.ir);
  CHECK(x.find("at most 3 live tokens of this profile for each creating uid") != std::string::npos);
  CHECK(x.find("at most 2 live tokens of this profile in each user namespace") != std::string::npos);
}

TEST_CASE("evaluator: a per-type size limit overrides the profile's own for those map types") {
  all_pass(
      "profile t { match any; allow cmd map_create; allow map hash, ringbuf, array;\n"
      "  limit max_entries 1024; limit value_size 64;\n"
      "  limit max_entries 16777216 for map ringbuf; limit value_size 4096 for map array; }\n",
      "[defaults]\nhook=map_create\n"
      "[a ring buffer of 16 MiB]\nmap=type=ringbuf max_entries=16777216\nexpect=allow t\n"
      "[a ring buffer of 32 MiB]\nmap=type=ringbuf max_entries=33554432\nexpect=deny t\n"
      "[a hash map keeps the profile's limit]\nmap=type=hash max_entries=2048 key_size=4 value_size=8\nexpect=deny t\n"
      "[a small hash map]\nmap=type=hash max_entries=1024 key_size=4 value_size=64\nexpect=allow t\n"
      "[an array's own value_size]\nmap=type=array max_entries=1 key_size=4 value_size=4096\nexpect=allow t\n"
      "[an array keeps the profile's max_entries]\nmap=type=array max_entries=2048 key_size=4 value_size=8\nexpect=deny t\n"
      "[a hash map keeps the profile's value_size]\nmap=type=hash max_entries=1 key_size=4 value_size=65\nexpect=deny t\n");
  auto c = compile_text("profile t { match any; allow cmd map_create; allow map ringbuf; limit max_entries 4096 for map ringbuf; }");
  REQUIRE(c.ir);
  Event e;
  e.hook = Hook::map_create;
  e.map.type = 27;  // ringbuf
  e.map.max_entries = 8192;
  auto d = evaluate(*c.ir, e);
  CHECK(d.outcome == Outcome::deny);
  CHECK(d.reason.find("max_entries 8192 exceeds `limit max_entries 4096 for map ringbuf`") != std::string::npos);
  CHECK(d.rule == "p.tw:1:65");
  CHECK(explain(*c.ir).find("max_entries at most 4096 for ringbuf") != std::string::npos);
}

TEST_CASE("evaluator: `limit maps|progs N per profile` counts the profile's live objects, all tokens") {
  all_pass(
      "profile q { match any; allow cmd map_create, prog_load; allow map array; allow prog socket_filter;\n"
      "  allow attach cgroup_inet_ingress; limit maps 2; limit maps 3 per profile; limit progs 1 per profile; errno EDQUOT; }\n",
      "[defaults]\nmap=type=array max_entries=1 key_size=4 value_size=8\nprog=type=socket_filter insns=2\n"
      "[the third live map, first of its token]\nhook=map_create\nmaps_live=2\nexpect=allow q\n"
      "[a fourth live map]\nhook=map_create\nmaps_live=3\nexpect=deny q errno=EDQUOT\n"
      "[the token's own quota comes first]\nhook=map_create\nmaps_created=2\nexpect=deny q\n"
      "[live programs are apart from maps]\nhook=prog_load\nmaps_live=3\nexpect=allow q\n"
      "[a second live program]\nhook=prog_load\nprogs_live=1\nexpect=deny q\n");
  auto c = compile_text("profile q { match any; allow cmd map_create; allow map array; limit maps 3 per profile; }");
  REQUIRE(c.ir);
  Event e;
  e.hook = Hook::map_create;
  e.map.type = 2;
  e.maps_live = 3;
  auto d = evaluate(*c.ir, e);
  CHECK(d.reason.find("live map number 4 exceeds `limit maps 3 per profile`") != std::string::npos);
  CHECK(explain(*c.ir).find("live maps of the profile (all its tokens; a freed map gives its place back) at most 3") !=
        std::string::npos);
}

TEST_CASE("evaluator: a full token table's shared slots refuse every token but those a profile reserves") {
  all_pass(
      "policy p; default allow;\n"
      "profile kept { match creator.uid == 1; allow cmd map_create; allow map array; reserve tokens 2; }\n"
      "profile open { match creator.uid == 2; allow cmd map_create; allow map array; mode audit; }\n",
      "[defaults]\nhook=token_create\n"
      "[room: every profile gets its token]\ncreator=uid=2\nexpect=allow open\n"
      "[full: a profile with no reservation is refused, in audit mode too]\ncreator=uid=2\nshared_full=yes\n"
      "expect=deny open errno=ENOSPC\n"
      "[full: an unconfined token is refused]\ncreator=uid=3\nshared_full=yes\nexpect=deny - errno=ENOSPC\n"
      "[full: the first reserved slot]\ncreator=uid=1\nshared_full=yes\nexpect=allow kept\n"
      "[full: the second reserved slot]\ncreator=uid=1\nshared_full=yes\ntokens_live=1\nexpect=allow kept\n"
      "[full: beyond the reservation]\ncreator=uid=1\nshared_full=yes\ntokens_live=2\nexpect=deny kept errno=ENOSPC\n"
      "[room: beyond the reservation, a shared slot]\ncreator=uid=1\ntokens_live=2\nexpect=allow kept\n");
  auto c = compile_text("profile kept { match any; reserve tokens 2; }");
  REQUIRE(c.ir);
  CHECK(explain(*c.ir).find("2 slots of the token table are kept for this profile") != std::string::npos);
  Event e;
  e.hook = Hook::token_create;
  e.shared_full = true;
  e.tokens_live = 2;
  CHECK(evaluate(*c.ir, e).reason.find("holds its 2 reserved ones (fails closed)") != std::string::npos);
}
