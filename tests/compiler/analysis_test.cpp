// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "compile_support.h"
#include "compiler/analysis.h"

using namespace tw::compiler;
using tw::test::compile_text;
using tw::test::has_code_at;

TEST_CASE("analysis: shadowed profiles name the one that shadows them") {
  auto c = compile_text(
      "profile wide { match creator.cgroup under \"/ci.slice\"; }\n"
      "profile narrow { match creator.cgroup under \"/ci.slice/job-1\" and creator.uid == 5; }\n"
      "profile other { match creator.cgroup under \"/ci.slicex\"; }\n");
  CHECK(has_code_at(c, "W103@2:9"));
  CHECK_FALSE(has_code_at(c, "W103@3:9"));
  auto w = c.diags.all();
  REQUIRE(w.size() == 1);
  REQUIRE(w[0].notes.size() == 1);
  CHECK(c.sources.where(w[0].notes[0].span) == "p.tw:1:9");
}

TEST_CASE("analysis: every alternative must be covered, by any earlier profiles") {
  auto partly = compile_text("profile a { match creator.uid == 1; }\nprofile b { match creator.uid == 1 or creator.uid == 2; }");
  CHECK_FALSE(partly.diags.has(Code::W103));
  auto fully = compile_text(
      "profile a { match creator.uid == 1; }\nprofile b { match creator.uid == 2; }\n"
      "profile c { match creator.uid == 1 or creator.uid == 2; }");
  CHECK(has_code_at(fully, "W103@3:9"));
  auto after_any = compile_text("profile a { match any; }\nprofile b { match token delegates prog xdp; }");
  CHECK(has_code_at(after_any, "W103@2:9"));
}

TEST_CASE("analysis: covering atoms") {
  auto conj = [](const std::string& m) {
    auto c = compile_text("profile a { match " + m + "; }");
    REQUIRE(c.ir);
    REQUIRE(c.ir->profiles[0].match.size() == 1);
    return c.ir->profiles[0].match[0];
  };
  CHECK(covers(conj("creator.uid < 100"), conj("creator.uid == 5")));
  CHECK_FALSE(covers(conj("creator.uid == 5"), conj("creator.uid < 100")));
  CHECK(covers(conj("creator.comm != \"x\""), conj("creator.comm == \"y\"")));
  CHECK_FALSE(covers(conj("creator.comm != \"x\""), conj("creator.comm in \"x\", \"y\"")));
  CHECK(covers(conj("creator.cgroup under \"/a\""), conj("creator.cgroup == \"/a/b\"")));
  CHECK_FALSE(covers(conj("creator.cgroup under \"/a\""), conj("creator.cgroup under \"/ab\"")));
  CHECK(covers(conj("token delegates prog xdp"), conj("token delegates all prog xdp, kprobe")));
  CHECK(covers(conj("token delegates any prog xdp, kprobe"), conj("token delegates prog kprobe")));
  CHECK_FALSE(covers(conj("token delegates all prog xdp, kprobe"), conj("token delegates prog xdp")));
  CHECK(covers(conj("any"), conj("creator.uid == 1")));
}

TEST_CASE("analysis: contradictions never match") {
  auto c = compile_text("profile a { match creator.uid == 1 and not creator.uid in 0..10; }");
  CHECK(has_code_at(c, "W102@1:9"));
}

TEST_CASE("analysis: the shadow check stops after its budget and says so") {
  // Range tests cannot be indexed by value: every new profile is compared with all earlier ones.
  std::string policy;
  for (int i = 0; i < 4000; ++i)
    policy += "profile p" + std::to_string(i) + " { match creator.uid in " + std::to_string(i * 10) + ".." +
              std::to_string(i * 10 + 5) + " and creator.gid in 0..9; }\n";
  auto c = compile_text(policy);
  CHECK(c.diags.has(Code::W113));
  CHECK_FALSE(c.diags.has(Code::W103));
  // The stages after the analysis still run: 4,000 alternatives with no exact value are more than
  // the BPF backend's scan list holds, which the compiler says (E033) instead of `load`.
  CHECK(c.diags.has(Code::E033));
}

TEST_CASE("analysis: a profile covered by the union of earlier ones is shadowed") {
  // `uid < 1000` and `uid >= 1000` together match every uid: whatever the third tests, it never
  // labels a token (W103 names both).
  auto c = compile_text(R"(policy u;
profile low { match creator.uid < 1000; }
profile high { match creator.uid >= 1000; }
profile third { match creator.cgroup under "/system.slice"; }
)");
  CHECK(has_code_at(c, "W103@4:9"));
  bool named = false;
  for (const auto& d : c.diags.all())
    if (d.code == Code::W103) named = d.message.find("`low`, `high`") != std::string::npos && d.notes.size() == 2;
  CHECK(named);
  // A union with a gap covers what lies within it, and nothing beyond.
  auto gap = compile_text(R"(policy g;
profile a { match creator.gid in 0..99; }
profile b { match creator.gid in 100..199 or creator.gid in 300..399; }
profile inside { match creator.gid in 50..150 and creator.comm == "x"; }
profile across { match creator.gid in 150..350; }
)");
  CHECK(has_code_at(gap, "W103@4:9"));
  CHECK_FALSE(has_code_at(gap, "W103@5:9"));
  // Alternatives that test the attribute together with another one do not join the union.
  auto mixed = compile_text(R"(policy m;
profile low { match creator.uid < 1000 and creator.comm == "a"; }
profile high { match creator.uid >= 1000; }
profile third { match any; }
)");
  CHECK_FALSE(mixed.diags.has(Code::W103));
}
