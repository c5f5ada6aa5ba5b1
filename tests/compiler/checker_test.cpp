// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "compile_support.h"
#include "compiler/lower.h"

using namespace tw;
using namespace tw::compiler;
using tw::test::compile_files;
using tw::test::compile_text;
using tw::test::has_code_at;

TEST_CASE("checker: every spelling of a name resolves to the same bit") {
  auto c = compile_text(
      "profile a { match any; allow cmd map_create, BPF_PROG_LOAD, BPFBtfLoad; allow map HASH, BPFMapTypeArray;"
      " allow prog xdp; allow attach BPFXdp; allow cap bpf, CAP_NET_ADMIN; }");
  REQUIRE(c.ir);
  const auto& g = c.ir->profiles[0].grants;
  CHECK(g[GrantKind::cmd] == ((1ULL << 0) | (1ULL << 5) | (1ULL << 18)));
  CHECK(g[GrantKind::map] == ((1ULL << 1) | (1ULL << 2)));
  CHECK(g[GrantKind::attach] == (1ULL << 37));
  CHECK(g[GrantKind::cap] == ((1ULL << 39) | (1ULL << 12)));
}

TEST_CASE("checker: grants blocks merge, may be declared later, and may use each other") {
  auto c = compile_text(
      "profile a { match any; use outer; allow prog xdp; allow attach xdp; }\n"
      "grants outer { use inner; allow cmd prog_load; limit insns 100; }\n"
      "grants inner { allow cmd map_create; allow map array; limit maps 2; }\n");
  REQUIRE(c.ir);
  const auto& p = c.ir->profiles[0];
  CHECK(p.grants[GrantKind::cmd] == ((1ULL << 0) | (1ULL << 5)));
  CHECK(p.limits[LimitKind::maps] == 2);
  CHECK(p.limits[LimitKind::insns] == 100);
  CHECK(c.ir->where(p.limits.rule[static_cast<size_t>(LimitKind::maps)]) == "p.tw:3:55");
  CHECK(c.ir->rules.size() == 7);  // each statement once
}

TEST_CASE("checker: the same limit twice with two values is a contradiction") {
  auto c = compile_text(
      "grants g { limit maps 4; }\nprofile a { match any; allow cmd map_create; allow map array; use g; limit maps 8; }");
  CHECK(has_code_at(c, "E019@2:70"));
  REQUIRE_FALSE(c.diags.all().empty());
  CHECK(c.diags.all()[0].notes.size() == 1);
}

TEST_CASE("checker: includes are textual, once, relative to the including file") {
  auto c = compile_files({{"dir/p.tw", "include \"sub/a.tw\";\ninclude \"sub/a.tw\";\nprofile last { match any; }"},
                          {"dir/sub/a.tw", "include \"b.tw\";\nprofile a { match creator.uid == 1; }"},
                          {"dir/sub/b.tw", "profile b { match creator.uid == 2; }"}},
                         "dir/p.tw");
  REQUIRE(c.ir);
  std::vector<std::string> names;
  for (const auto& p : c.ir->profiles) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"b", "a", "last"});
  CHECK(c.ir->profiles[1].where == "dir/sub/a.tw:2:9");
}

TEST_CASE("checker: target kernel warnings") {
  TargetKernel t612;
  t612.version = vocab::KernelVersion{6, 12};
  t612.label = "6.12";
  const char* policy = "profile a { match any; allow cmd map_create, prog_stream_read_by_fd; }";
  auto c = compile_text(policy, t612);
  CHECK(has_code_at(c, "W101@1:46"));
  CHECK(c.ir.has_value());  // a warning, not an error
  auto builtin = compile_text(policy);
  CHECK_FALSE(builtin.diags.has(Code::W101));

  // A kernel's own tables (as read from BTF): names it lacks warn, names only it has resolve.
  TargetKernel btf;
  btf.label = "test";
  btf.tables = std::array<vocab::EnumTable, 4>{vocab::table_for_kernel(vocab::EnumKind::cmd, {6, 9}),
                                                vocab::builtin_table(vocab::EnumKind::map),
                                                vocab::builtin_table(vocab::EnumKind::prog),
                                                vocab::builtin_table(vocab::EnumKind::attach)};
  (*btf.tables)[1].entries.push_back({"FUTURE_MAP", 40});
  auto f = compile_text("profile a { match any; allow cmd map_create, prog_stream_read_by_fd; allow map future_map; }", btf);
  CHECK(has_code_at(f, "W101@1:46"));
  REQUIRE(f.ir);
  CHECK(f.ir->profiles[0].grants[GrantKind::map] == (1ULL << 40));
}

TEST_CASE("checker: hard limit on the number of profiles") {
  TargetKernel small;
  small.max_profiles = 2;
  auto c = compile_text("profile a { match any; }\nprofile b { match any; }\nprofile c { match any; }", small);
  CHECK(has_code_at(c, "E026@3:9"));
}

TEST_CASE("checker: settings and defaults") {
  auto c = compile_text("default allow; preexisting profile a; mode audit; errno EACCES;\n"
                        "profile a { match any; mode enforce; }\nprofile b { match creator.uid == 1; errno ENOSPC; }");
  REQUIRE(c.ir);
  CHECK(c.ir->default_allow);
  CHECK(c.ir->preexisting == Preexisting::profile);
  CHECK(c.ir->preexisting_profile == "a");
  CHECK(c.ir->profiles[0].mode == Mode::enforce);
  CHECK(c.ir->profiles[0].deny_errno == 13);
  CHECK(c.ir->profiles[1].mode == Mode::audit);
  CHECK(c.ir->profiles[1].deny_errno == 28);
  auto d = compile_text("profile a { match any; }");
  REQUIRE(d.ir);
  CHECK_FALSE(d.ir->default_allow);
  CHECK(d.ir->preexisting == Preexisting::deny);
  CHECK(d.ir->mode == Mode::enforce);
  CHECK(d.ir->deny_errno == 1);
}

TEST_CASE("checker: statements in the wrong place") {
  auto c = compile_text("match any;\nprofile a { match any; profile b { match any; } include \"x\"; }\ngrants g { refuse; }");
  CHECK(has_code_at(c, "E029@1:1"));
  CHECK(has_code_at(c, "E029@2:24"));
  CHECK(has_code_at(c, "E029@2:49"));
  CHECK(has_code_at(c, "E029@3:12"));
}

TEST_CASE("lower: identity collisions are reported") {
  auto c = compile_text("profile a { match any; }\nprofile b { match creator.uid == 1; }");
  REQUIRE(c.ir);
  // Re-run the checker and lower with a degenerate identity function.
  SourceSet sources;
  Diagnostics diags;
  auto stmts = load_policy("p.tw", sources, diags, [](const std::string&, std::string&) -> std::optional<std::string> {
    return std::string("profile a { match any; }\nprofile b { match creator.uid == 1; }");
  });
  auto checked = check(stmts, sources, "p.tw", {}, diags);
  lower(checked, sources, diags, [](std::string_view) -> uint64_t { return 42; });
  REQUIRE(diags.has(Code::E028));
  CHECK(sources.where(diags.all().back().span) == "p.tw:2:9");
}

TEST_CASE("checker: a quota of 0 is a contradiction, unless libbpf's probes still pass") {
  auto none = compile_text("profile a { match any; allow cmd prog_load; allow prog xdp; limit progs 0; }");
  CHECK_FALSE(none.ir);
  // With `allow probes` the probes are not counted: `limit progs 0` means "no program of its own".
  auto probes = compile_text("profile a { match any; allow cmd map_create, prog_load; allow map array; allow probes;"
                             " limit progs 0; }");
  CHECK(probes.ir);
  auto entries = compile_text("profile a { match any; allow cmd map_create; allow map array; allow probes;"
                              " limit max_entries 0; }");
  CHECK_FALSE(entries.ir);  // every map, probes included, has an entry
}
