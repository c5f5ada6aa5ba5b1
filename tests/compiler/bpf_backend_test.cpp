// SPDX-License-Identifier: Apache-2.0
// The BPF backend (IR -> the tables of vocab/tw_abi.h), with a fake resolver: records,
// the exact-value index, the scan list, set splitting, unresolvable paths and the limits.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>

#include "compile_support.h"
#include "compiler/bpf_backend.h"

using namespace tw::compiler;
using tw::test::compile_text;

namespace {

// Executables and cgroups resolve when their path starts with "/ok" (a cgroup under "/new" resolves
// with a note: it does not exist yet); ids are derived from the length.
Resolver fake_resolver() {
  Resolver r;
  r.exe = [](const std::string& p) -> Resolution {
    if (p.rfind("/ok", 0) != 0) return {std::nullopt, "is a directory, not an executable file", ""};
    return {std::make_pair(uint64_t{7}, uint64_t{1000 + p.size()}), "", ""};
  };
  r.cgroup = [](const std::string& p) -> Resolution {
    if (p.rfind("/new", 0) == 0) return {std::make_pair(uint64_t{9000 + p.size()}, uint64_t{0}), "", "no such cgroup now"};
    if (p.rfind("/ok", 0) != 0) return {};
    return {std::make_pair(uint64_t{5000 + p.size()}, uint64_t{0}), "", ""};
  };
  r.bpffs = [](const std::string&) -> Resolution { return {}; };
  return r;
}

BpfTables lower(const std::string& text) {
  auto c = compile_text(text);
  REQUIRE_MESSAGE(c.ir, text);
  BpfBackendError err;
  auto t = lower_to_bpf(*c.ir, fake_resolver(), err);
  REQUIRE_MESSAGE(t, err.message);
  return *t;
}

// A policy the backend cannot hold is refused when it is compiled (E033 at the profile), not
// first at load: the diagnostic's message.
std::string failure(const std::string& text) {
  auto c = compile_text(text);
  CHECK_FALSE(c.ir);
  for (const auto& d : c.diags.all())
    if (d.code == Code::E033) {
      CHECK(d.span.valid());
      CHECK_FALSE(d.hints.empty());
      return d.message;
    }
  FAIL_CHECK("no E033 for: " << text);
  return {};
}

}  // namespace

TEST_CASE("bpf backend: profile records carry the rules the per-use hooks read") {
  auto t = lower(R"(policy p; default allow; errno EACCES; mode audit;
profile a { match creator.uid == 1; allow cmd map_create; allow map array; allow cap CAP_BPF;
            limit max_entries 10; limit maps 3; forbid map_flags mmapable; forbid sleepable; }
profile b { match creator.uid == 2; mode enforce; refuse; strict; errno EBUSY; })");
  REQUIRE(t.profiles.size() == 2);
  const tw_profile& a = t.profiles[0];
  CHECK(a.order == 0);
  CHECK(a.rules.cmds == 1ULL << BPF_MAP_CREATE);
  CHECK(a.rules.maps == 1ULL << BPF_MAP_TYPE_ARRAY);
  CHECK(a.rules.caps == 1ULL << 39);
  CHECK(a.rules.limits[TW_LIM_MAX_ENTRIES] == 10);
  CHECK(a.rules.limits[TW_LIM_MAPS] == 3);
  CHECK(a.rules.limits[TW_LIM_INSNS] == 0xffffffff);  // no limit
  CHECK(a.rules.forbidden_map_flags == BPF_F_MMAPABLE);
  CHECK(a.rules.sleepable_ok == 0);
  CHECK(a.rules.mode == TW_MODE_AUDIT);  // the policy's mode
  CHECK(a.rules.err == 13);              // the policy's errno
  CHECK(std::string(a.name) == "a");
  const tw_profile& b = t.profiles[1];
  CHECK(b.order == 1);
  CHECK(b.refuse == 1);
  CHECK(b.strict == 1);
  CHECK(b.rules.mode == TW_MODE_ENFORCE);
  CHECK(b.rules.err == 16);
  CHECK(t.settings.default_allow == 1);
  CHECK(t.settings.mode == TW_MODE_AUDIT);
  CHECK(t.settings.n_conj == t.conjs.size());
}

TEST_CASE("bpf backend: alternatives are indexed by their most selective exact value") {
  auto t = lower(R"(policy p;
profile a { match creator.exe == "/ok/bin/a" and creator.uid == 5; }
profile b { match creator.uid == 6 and creator.comm == "b"; }
profile c { match creator.uid in 100..200; })");
  REQUIRE(t.conjs.size() == 3);
  auto indexed_under = [&](uint32_t conj) {
    for (const auto& [k, v] : t.index)
      for (uint32_t i = 0; i < v.n; ++i)
        if (v.conj[i] == conj) return static_cast<int>(k.attr);
    return -1;
  };
  CHECK(indexed_under(0) == TW_ATTR_EXE);   // not the uid
  CHECK(indexed_under(1) == TW_ATTR_COMM);  // comm before uid
  CHECK(indexed_under(2) == -1);            // a range of 101 uids: scanned
  CHECK(t.scan == std::vector<uint32_t>{2});
  CHECK(t.settings.n_scan == 1);
}

TEST_CASE("bpf backend: a set larger than one atom holds is split into alternatives") {
  auto t = lower(R"(policy p; profile a { match creator.comm in "a", "b", "c", "d", "e", "f"; })");
  // TW_MAX_VALUES comms per atom: two alternatives, each indexed by its comms.
  CHECK(t.conjs.size() == 2);
  size_t indexed = 0;
  for (const auto& [k, v] : t.index) indexed += v.n;
  CHECK(indexed == 6);
  CHECK(t.scan.empty());
}

TEST_CASE("bpf backend: paths that do not exist never match, or exclude nothing") {
  auto t = lower(R"(policy p;
profile gone { match creator.exe == "/missing/x"; }
profile here { match creator.cgroup under "/ok/slice" and not creator.exe == "/missing/y"; })");
  // `gone` can never match: no alternative at all; `here` keeps only its cgroup atom.
  REQUIRE(t.conjs.size() == 1);
  CHECK(t.conjs[0].n_atoms == 1);
  CHECK(t.conjs[0].atoms[0].attr == TW_ATTR_CGROUP_UNDER);
  CHECK(t.conjs[0].atoms[0].ids[0][0] == 5000 + std::strlen("/ok/slice"));
  REQUIRE(t.notes.size() == 2);
  // The resolver's own words when it has some, the generic ones otherwise.
  CHECK(t.notes[0] == "profile `gone`: creator.exe \"/missing/x\" is a directory, not an executable file");
  CHECK(t.notes[1].find("/missing/y") != std::string::npos);
  CHECK(t.infos.empty());
}

TEST_CASE("bpf backend: a cgroup that does not exist yet still matches, with a note") {
  auto t = lower(R"(policy p; profile a { match creator.cgroup == "/new/svc.service"; })");
  REQUIRE(t.conjs.size() == 1);
  CHECK(t.conjs[0].atoms[0].ids[0][0] == 9000 + std::strlen("/new/svc.service"));
  CHECK(t.notes.empty());
  REQUIRE(t.infos.size() == 1);
  CHECK(t.infos[0] == "profile `a`: creator.cgroup \"/new/svc.service\": no such cgroup now");
}

TEST_CASE("bpf backend: SELinux-only alternatives are left to SELinux") {
  auto t = lower(R"(policy p; profile a { match creator.selinux_type == "svc_t" or creator.uid == 3; })");
  CHECK(t.conjs.size() == 1);
  REQUIRE(t.notes.size() == 1);
  CHECK(t.notes[0].find("only SELinux enforces it") != std::string::npos);
}

TEST_CASE("bpf backend: what the programs cannot hold is refused with the reason") {
  std::string many;
  for (int i = 0; i < TW_MAX_SCAN + 1; ++i) many += fmt::format("profile p{} {{ match creator.uid > {}; }}\n", i, i);
  CHECK(failure("policy p;\n" + many).find("at most 256 one by one") != std::string::npos);
  std::string shared;
  for (int i = 0; i < TW_CHUNK * TW_MAX_CHUNKS + 1; ++i)
    shared += fmt::format("profile p{} {{ match creator.comm == \"same\" and creator.uid == {}; }}\n", i, i);
  CHECK(failure("policy p;\n" + shared).find("share one exact value") != std::string::npos);
}

TEST_CASE("bpf backend: `under` carries the cgroup's level, and the create hook looks that deep") {
  std::string deep = "/ok";
  for (int i = 1; i < 30; ++i) deep += fmt::format("/l{}", i);  // level 30
  auto t = lower(fmt::format(R"(policy p;
profile a {{ match creator.cgroup under "/ok/x"; }}
profile b {{ match creator.cgroup under "{}"; }}
profile c {{ match creator.cgroup == "/ok/y/z"; }})", deep));
  REQUIRE(t.conjs.size() == 3);
  const tw_atom& a = t.conjs[0].atoms[0];
  CHECK(a.attr == TW_ATTR_CGROUP_UNDER);
  CHECK(a.ids[0][0] == 5000 + std::string("/ok/x").size());
  CHECK(a.ids[0][1] == 2);
  CHECK(t.conjs[1].atoms[0].ids[0][1] == 30);
  CHECK(t.conjs[2].atoms[0].ids[0][1] == 0);  // `==` compares the creator's own cgroup: no level
  CHECK(t.settings.under_levels == 31);
  // The index key of an `under` value is (id, level), as the create hook builds it per level.
  bool keyed = std::any_of(t.index.begin(), t.index.end(), [&](const auto& e) {
    return e.first.attr == TW_ATTR_CGROUP_UNDER && e.first.v0 == a.ids[0][0] && e.first.v1 == 2;
  });
  CHECK(keyed);
  CHECK(t.settings.n_profiles == 3);
  CHECK(t.settings.n_index == t.index.size());

  CHECK(lower("policy p; profile a { match creator.uid == 1; }").settings.under_levels == 0);
  std::string too_deep = "/ok";
  for (int i = 1; i < TW_CGROUP_LEVELS; ++i) too_deep += "/l";
  CHECK(failure(fmt::format("policy p; profile a {{ match creator.cgroup under \"{}\"; }}", too_deep))
            .find("levels deep") != std::string::npos);
}

TEST_CASE("bpf backend: the attributes no atom tests are marked unused, so the create hook skips them") {
  auto bit = [](int attr) { return 1u << attr; };
  auto t = lower(R"(policy p;
profile a { match creator.uid == 1 and creator.comm == "svc"; }
profile b { match creator.cgroup under "/ok/x"; })");
  uint32_t unused = t.settings.unused_attrs;
  for (int attr : {TW_ATTR_UID, TW_ATTR_COMM, TW_ATTR_CGROUP_UNDER}) CHECK((unused & bit(attr)) == 0);
  // No walk of the executable's or the bpffs's path, no whole cgroup path, no other lookups.
  for (int attr : {TW_ATTR_GID, TW_ATTR_EXE, TW_ATTR_CGROUP_IS, TW_ATTR_USERNS_OWNER, TW_ATTR_USERNS_DEPTH,
                   TW_ATTR_BPFFS, TW_ATTR_DELEGATES})
    CHECK((unused & bit(attr)) != 0);
  CHECK((unused >> TW_ATTR_COUNT) == 0);

  // An atom in any alternative counts, indexed or not: here exe and depth only as second atoms.
  auto u = lower(R"(policy p;
profile a { match creator.uid == 1 and creator.exe == "/ok/bin/x"; }
profile b { match creator.uid == 5 and token.userns.depth == 1 and creator.cgroup == "/ok/y"; })");
  for (int attr : {TW_ATTR_UID, TW_ATTR_EXE, TW_ATTR_USERNS_DEPTH, TW_ATTR_CGROUP_IS})
    CHECK((u.settings.unused_attrs & bit(attr)) == 0);
  CHECK((u.settings.unused_attrs & bit(TW_ATTR_CGROUP_UNDER)) != 0);
  // `match any` tests nothing: every attribute is unused.
  CHECK(lower("policy p; profile a { match any; }").settings.unused_attrs == (1u << TW_ATTR_COUNT) - 1);
  // A path that does not resolve leaves no atom, and so no walk (the value never matches).
  CHECK((lower(R"(policy p; profile a { match creator.exe == "/nowhere"; })").settings.unused_attrs &
         bit(TW_ATTR_EXE)) != 0);
}

TEST_CASE("bpf backend: per-type size limits become groups of map types with their sizes resolved") {
  auto t = lower(R"(profile a { match any; allow cmd map_create; allow map hash, lru_hash, ringbuf, array;
  limit max_entries 1024; limit key_size 8;
  limit max_entries 16777216 for map ringbuf; limit max_entries 65536 for map hash, lru_hash;
  limit key_size 16 for map lru_hash; limit maps 4 per profile; limit progs 2 per profile; })");
  REQUIRE(t.profiles.size() == 1);
  const tw_rules& r = t.profiles[0].rules;
  CHECK(r.limits[TW_LIM_PROFILE_MAPS] == 4);
  CHECK(t.profiles[0].reserve_tokens == 0);
  CHECK(lower("profile a { match any; reserve tokens 7; }").profiles[0].reserve_tokens == 7);
  const tw_rules& c = lower("profile a { match any; limit tokens 9; limit tokens 3 per uid; limit tokens 2 per userns; }").profiles[0].rules;
  CHECK(c.limits[TW_LIM_TOKENS] == 9);
  CHECK(c.limits[TW_LIM_UID_TOKENS] == 3);
  CHECK(c.limits[TW_LIM_USERNS_TOKENS] == 2);
  CHECK(r.limits[TW_LIM_UID_TOKENS] == 0xffffffff);
  CHECK(r.limits[TW_LIM_PROFILE_PROGS] == 2);
  // hash (1): 65536/8; lru_hash (9): 65536/16; ringbuf (27): 16M/8; array keeps the profile's.
  REQUIRE(r.type_limits[0].maps == 1ULL << BPF_MAP_TYPE_HASH);
  CHECK(r.type_limits[0].max_entries == 65536);
  CHECK(r.type_limits[0].key_size == 8);
  CHECK(r.type_limits[0].value_size == 0xffffffff);
  REQUIRE(r.type_limits[1].maps == 1ULL << BPF_MAP_TYPE_LRU_HASH);
  CHECK(r.type_limits[1].key_size == 16);
  REQUIRE(r.type_limits[2].maps == 1ULL << BPF_MAP_TYPE_RINGBUF);
  CHECK(r.type_limits[2].max_entries == 16777216);
  CHECK(r.type_limits[3].maps == 0);
  // Types with the same sizes share a group.
  auto u = lower(R"(profile a { match any; allow cmd map_create; allow map hash, lru_hash;
  limit max_entries 65536 for map hash; limit max_entries 65536 for map lru_hash; })");
  CHECK(u.profiles[0].rules.type_limits[0].maps == ((1ULL << BPF_MAP_TYPE_HASH) | (1ULL << BPF_MAP_TYPE_LRU_HASH)));
  CHECK(u.profiles[0].rules.type_limits[1].maps == 0);
}

TEST_CASE("bpf backend: more groups of per-type sizes than the programs hold is E033") {
  auto message = failure(R"(profile a { match any; allow cmd map_create; allow map hash, array, ringbuf, lru_hash, queue;
  limit max_entries 1 for map hash; limit max_entries 2 for map array; limit max_entries 3 for map ringbuf;
  limit max_entries 4 for map lru_hash; limit max_entries 5 for map queue; })");
  CHECK(message.find("5 groups of map types") != std::string::npos);
}
