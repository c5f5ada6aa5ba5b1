// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "compiler/parser.h"

using namespace tw::compiler;

namespace {
struct Parsed {
  SourceSet sources;
  Diagnostics diags;
  std::vector<Stmt> stmts;
};
Parsed parse_text(const std::string& text) {
  Parsed p;
  p.stmts = parse(p.sources, p.sources.add("t.tw", text), p.diags);
  return p;
}
}  // namespace

TEST_CASE("parser: statements and blocks") {
  auto p = parse_text("policy x; default deny; grants g { allow cmd map_create, btf_load; limit maps 3; }\n"
                      "profile a { match any; use g; forbid map_flags mmapable; forbid sleepable; refuse; strict; mode audit; errno EACCES; }");
  CHECK_FALSE(p.diags.has_errors());
  REQUIRE(p.stmts.size() == 4);
  CHECK(p.stmts[2].kind == Stmt::Kind::grants);
  REQUIRE(p.stmts[2].body.size() == 2);
  CHECK(p.stmts[2].body[0].names.size() == 2);
  CHECK(p.stmts[2].body[1].number->value == 3);
  CHECK(p.stmts[3].body.size() == 8);
  CHECK(p.stmts[3].body[2].names[0].text == "mmapable");
}

TEST_CASE("parser: precedence is not > and > or") {
  auto p = parse_text("profile a { match not creator.uid == 1 and creator.gid == 2 or any; }");
  REQUIRE_FALSE(p.diags.has_errors());
  const Expr& e = *p.stmts[0].body[0].match;
  REQUIRE(e.kind == Expr::Kind::any_of);
  REQUIRE(e.children.size() == 2);
  CHECK(e.children[0].kind == Expr::Kind::all_of);
  CHECK(e.children[0].children[0].kind == Expr::Kind::negation);
  CHECK(e.children[1].kind == Expr::Kind::any);
}

TEST_CASE("parser: predicates") {
  auto p = parse_text(
      "profile a { match creator.uid in 1..5, 9 and creator.cgroup under \"/x\" and token delegates any prog xdp, kprobe "
      "and (creator.selinux_type == container_t); }");
  REQUIRE_FALSE(p.diags.has_errors());
  const Expr& e = *p.stmts[0].body[0].match;
  REQUIRE(e.children.size() == 4);
  CHECK(e.children[0].pred.ranges.size() == 2);
  CHECK(e.children[0].pred.ranges[1].first.value == 9);
  CHECK(e.children[1].pred.op.text == "under");
  CHECK(e.children[2].pred.quantifier.text == "any");
  CHECK(e.children[2].pred.names.size() == 2);
  CHECK(e.children[3].pred.strings[0].value == "container_t");
}

TEST_CASE("parser: one error per broken statement, then recovery") {
  auto p = parse_text("profile a {\n  match any\n  allow cmd map_create;\n  limit maps;\n  allow map array;\n}\nprofile b { match any; }\n");
  std::vector<std::string> at;
  for (const auto& d : p.diags.all()) at.push_back(p.sources.where(d.span));
  CHECK(at == std::vector<std::string>{"t.tw:2:12", "t.tw:4:13"});  // the missing `;` right after `any`
  REQUIRE(p.stmts.size() == 2);
  CHECK(p.stmts[1].target.text == "b");
  CHECK(p.stmts[0].body.back().kind == Stmt::Kind::allow);
}

TEST_CASE("parser: unknown statements suggest keywords") {
  auto p = parse_text("profil a { match any; }");
  REQUIRE(p.diags.all().size() == 1);
  REQUIRE_FALSE(p.diags.all()[0].hints.empty());
  CHECK(p.diags.all()[0].hints[0].find("`profile`") != std::string::npos);
}

TEST_CASE("parser: deep nesting is an error, not a crash") {
  std::string deep = "profile a { match " + std::string(5000, '(') + "any" + std::string(5000, ')') + "; }";
  auto p = parse_text(deep);
  CHECK(p.diags.has_errors());
  std::string blocks;
  for (int i = 0; i < 200; ++i) blocks += "profile a { ";
  auto q = parse_text(blocks);
  CHECK(q.diags.has_errors());
}

TEST_CASE("parser: a stray `}` at the top level is an error, not a crash") {
  auto p = parse_text("profile a { match any; } }\nprofile b { match any; }");
  REQUIRE(p.diags.all().size() == 1);
  CHECK(p.sources.where(p.diags.all()[0].span) == "t.tw:1:26");
  CHECK(p.stmts.size() == 2);
}
