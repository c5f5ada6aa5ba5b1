// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "compile_support.h"
#include "compiler/ir_io.h"

using namespace tw::compiler;
using tw::test::compile_text;

namespace {
// The match clause of the only profile, as text: alternatives joined by " | ".
std::string dnf_of(const std::string& match) {
  auto c = compile_text("profile a { match " + match + "; }");
  REQUIRE_MESSAGE(!c.diags.has_errors(), match);
  std::string s;
  for (const auto& conj : c.ir->profiles[0].match) {
    std::string one;
    for (const auto& a : conj.atoms) one += (one.empty() ? "" : " & ") + atom_text(a);
    s += (s.empty() ? "" : " | ") + (one.empty() ? std::string("any") : one);
  }
  return s.empty() ? "never" : s;
}
}  // namespace

TEST_CASE("lower: numeric comparisons become interval sets") {
  CHECK(dnf_of("creator.uid == 5") == "creator.uid in 5");
  CHECK(dnf_of("creator.uid != 5") == "creator.uid in 0..4, 6..4294967295");
  CHECK(dnf_of("creator.uid < 1000") == "creator.uid in 0..999");
  CHECK(dnf_of("creator.uid >= 1000") == "creator.uid in 1000..4294967295");
  CHECK(dnf_of("creator.uid in 1..3, 4..6, 10") == "creator.uid in 1..6, 10");
  CHECK(dnf_of("token.userns.depth > 1") == "token.userns.depth in 2..32");
}

TEST_CASE("lower: negation is pushed to the atoms and folded") {
  CHECK(dnf_of("not creator.uid in 0..999") == "creator.uid in 1000..4294967295");
  CHECK(dnf_of("not (creator.uid == 1 or creator.gid == 2)") ==
        "creator.uid in 0, 2..4294967295 & creator.gid in 0..1, 3..4294967295");
  CHECK(dnf_of("not creator.comm == \"x\"") == "not creator.comm in \"x\"");
  CHECK(dnf_of("not not creator.comm == \"x\"") == "creator.comm in \"x\"");
  CHECK(dnf_of("not any") == "never");
}

TEST_CASE("lower: products, merges and contradictions") {
  CHECK(dnf_of("(creator.uid == 1 or creator.uid == 2) and creator.gid == 3") ==
        "creator.uid in 1 & creator.gid in 3 | creator.uid in 2 & creator.gid in 3");
  CHECK(dnf_of("creator.uid in 0..10 and creator.uid in 5..20") == "creator.uid in 5..10");
  CHECK(dnf_of("creator.uid == 1 and creator.uid == 2") == "never");
  CHECK(dnf_of("(creator.uid == 1 or creator.uid == 2) and creator.uid == 2") == "creator.uid in 2");
  CHECK(dnf_of("creator.comm in \"a\", \"b\" and creator.comm != \"a\"") == "creator.comm in \"b\"");
  CHECK(dnf_of("creator.comm == \"a\" and creator.comm == \"b\"") == "never");
  CHECK(dnf_of("creator.uid in 0..4294967295") == "any");
  CHECK(dnf_of("any or creator.uid == 1") == "any | creator.uid in 1");
  CHECK(dnf_of("token delegates all prog xdp and not token delegates any prog xdp, kprobe") == "never");
}

TEST_CASE("lower: identities are stable hashes of names, and order is explicit") {
  auto a = compile_text("profile x { match any; }\nprofile y { match any; }");
  auto b = compile_text("profile y { match creator.uid == 1; }\nprofile z { match any; }\nprofile x { match any; }");
  REQUIRE(a.ir);
  REQUIRE(b.ir);
  CHECK(a.ir->profiles[0].id == b.ir->profiles[2].id);
  CHECK(a.ir->profiles[1].id == b.ir->profiles[0].id);
  CHECK(a.ir->profiles[0].id != a.ir->profiles[1].id);
  CHECK(b.ir->profiles[2].order == 2);
  CHECK(profile_identity("x") == a.ir->profiles[0].id);
}
