// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <random>

#include "kernel/delegation.h"
#include "vocab/catalogue.h"

using namespace tw::kernel;
using namespace tw::vocab;

namespace {
const EnumTable& cmds() { return builtin_table(EnumKind::cmd); }
constexpr uint64_t bit(int n) { return 1ULL << n; }
}  // namespace

TEST_CASE("kernel parser: names are case-insensitive and ORed") {
  auto r = parse_kernel_option(cmds(), "map_create:PROG_LOAD:Btf_Load");
  REQUIRE(r.ok());
  CHECK(r.mask == (bit(0) | bit(5) | bit(18)));
}

TEST_CASE("kernel parser: a number overwrites the mask built so far") {
  auto after = parse_kernel_option(cmds(), "map_create:0x20");
  REQUIRE(after.ok());
  CHECK(after.mask == bit(5));
  auto before = parse_kernel_option(cmds(), "0x20:map_create");
  REQUIRE(before.ok());
  CHECK(before.mask == (bit(5) | bit(0)));
}

TEST_CASE("kernel parser: any, and the case-sensitive 'any'") {
  CHECK(parse_kernel_option(cmds(), "any").mask == ~0ULL);
  auto upper = parse_kernel_option(cmds(), "ANY");
  REQUIRE_FALSE(upper.ok());
  CHECK(upper.errors[0].err == EINVAL);
}

TEST_CASE("kernel parser: numbers follow kstrtou64(base 0)") {
  CHECK(parse_kernel_option(cmds(), "0x21").mask == 0x21);
  CHECK(parse_kernel_option(cmds(), "010").mask == 8);  // octal
  CHECK(parse_kernel_option(cmds(), "33").mask == 33);
  CHECK(parse_kernel_option(cmds(), "+3").mask == 3);
  CHECK(parse_kernel_option(cmds(), "0").mask == 0);
  CHECK(parse_kernel_option(cmds(), "7\n").mask == 7);
  for (const char* bad : {"", "0x", "0x21g", "map_create:", ":map_create", "08", "-1", "1 "}) {
    CAPTURE(bad);
    auto r = parse_kernel_option(cmds(), bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors[0].err == EINVAL);
  }
  auto big = parse_kernel_option(cmds(), "0x1ffffffffffffffff");
  REQUIRE_FALSE(big.ok());
  CHECK(big.errors[0].err == ERANGE);
}

TEST_CASE("kernel parser: unknown names fail with a suggestion") {
  auto r = parse_kernel_option(cmds(), "map_create:prog_lod");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].item == "prog_lod");
  CHECK(r.errors[0].message.find("did you mean 'prog_load'") != std::string::npos);
}

TEST_CASE("/proc/mounts printer: names in enum order, aliases once, leftovers in hex") {
  CHECK(format_proc_option(cmds(), 0) == "");
  CHECK(format_proc_option(cmds(), bit(18) | bit(0) | bit(5)) == "map_create:prog_load:btf_load");
  CHECK(format_proc_option(cmds(), bit(10)) == "prog_test_run");
  CHECK(format_proc_option(builtin_table(EnumKind::map), bit(19)) == "cgroup_storage_deprecated");
  CHECK(format_proc_option(cmds(), ~0ULL) == "any");
  CHECK(format_proc_option(cmds(), cmds().any_mask()) == "any");
  // Bits beyond __MAX_BPF_CMD are dropped before printing.
  CHECK(format_proc_option(cmds(), bit(0) | bit(50)) == "map_create");
  CHECK(format_proc_option(cmds(), bit(50)) == "");
  // A table that lacks a name prints that bit in hex after the names.
  EnumTable partial = cmds();
  std::erase_if(partial.entries, [](const EnumEntry& e) { return e.value == 5; });
  CHECK(format_proc_option(partial, bit(0) | bit(5)) == "map_create:0x20");
}

TEST_CASE("fsconfig values parse back to exactly the mask asked for") {
  std::mt19937_64 rng(42);
  for (EnumKind kind : kAllKinds) {
    const EnumTable& t = builtin_table(kind);
    for (int i = 0; i < 500; ++i) {
      uint64_t mask = rng() & rng();
      if (i % 7 == 0) mask &= t.any_mask();
      if (i == 0) mask = 0;
      if (i == 1) mask = ~0ULL;
      std::string value = format_fsconfig_value(t, mask);
      CAPTURE(value);
      auto r = parse_kernel_option(t, value);
      REQUIRE(r.ok());
      CHECK(r.mask == mask);
    }
  }
  CHECK(format_fsconfig_value(cmds(), bit(0) | bit(60)) == "0x1000000000000000:map_create");
}

TEST_CASE("user lists: any spelling, commas or colons, numbers never overwrite") {
  auto r = parse_user_list(cmds(), "BPFMapCreate, prog_load:BPF_BTF_LOAD");
  REQUIRE(r.ok());
  CHECK(r.mask == (bit(0) | bit(5) | bit(18)));
  CHECK(parse_user_list(cmds(), "map_create,0x20").mask == (bit(0) | bit(5)));
  CHECK(parse_user_list(cmds(), "ANY").mask == ~0ULL);
  CHECK(parse_user_list(cmds(), "").mask == 0);
  auto bad = parse_user_list(builtin_table(EnumKind::prog), "xdp,kprbe,tracepont");
  REQUIRE(bad.errors.size() == 2);
  CHECK(bad.errors[0].message.find("did you mean 'kprobe'") != std::string::npos);
  CHECK(bad.errors[1].message.find("'tracepoint'") != std::string::npos);
}

TEST_CASE("/proc/mounts options read back into masks") {
  auto m = parse_proc_mount_options(
      "rw,relatime,delegate_cmds=map_create:prog_load,delegate_maps=hash:array,"
      "delegate_progs=kprobe:xdp:0x100000000,delegate_attachs=any");
  CHECK(m.cmds == (bit(0) | bit(5)));
  CHECK(m.maps == (bit(1) | bit(2)));
  CHECK(m.progs == (bit(2) | bit(6) | bit(32)));
  CHECK(m.attachs == builtin_table(EnumKind::attach).any_mask());
  CHECK(parse_proc_mount_options("rw,nosuid").empty());
}
