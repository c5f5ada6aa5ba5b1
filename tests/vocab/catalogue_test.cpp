// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <linux/bpf.h>
#include <linux/version.h>

#include "vocab/catalogue.h"

using namespace tw::vocab;

TEST_CASE("catalogue: values and limits match the kernel's uapi") {
  CHECK(builtin_table(EnumKind::cmd).find("map_create") == 0u);
  CHECK(builtin_table(EnumKind::cmd).find("TOKEN_CREATE") == 36u);
  CHECK(builtin_table(EnumKind::cmd).find("prog_assoc_struct_ops") == 38u);
  CHECK(builtin_table(EnumKind::cmd).max == 39u);
  CHECK(builtin_table(EnumKind::map).find("arena") == 33u);
  CHECK(builtin_table(EnumKind::map).find("rhash") == 35u);
  CHECK(builtin_table(EnumKind::map).max == 36u);
  CHECK(builtin_table(EnumKind::prog).find("netfilter") == 32u);
  CHECK(builtin_table(EnumKind::prog).max == 33u);
  CHECK(builtin_table(EnumKind::attach).find("cgroup_inet_ingress") == 0u);
  CHECK(builtin_table(EnumKind::attach).find("trace_fsession_multi") == 61u);
  CHECK(builtin_table(EnumKind::attach).max == 62u);
  CHECK(builtin_table(EnumKind::attach).any_mask() == (1ULL << 62) - 1);
  // Absent from 6.18, in 7.2's uapi and 7.3's BTF: the newest bound (catalogue.def).
  CHECK(introduced_in(EnumKind::map, "insn_array") == KernelVersion{7, 2});
  CHECK_FALSE(table_for_kernel(EnumKind::map, {6, 18}).find("rhash").has_value());
  CHECK(table_for_kernel(EnumKind::map, {6, 18}).max == 34u);
}

TEST_CASE("catalogue: aliases keep declaration order, the first name wins") {
  const EnumTable& cmds = builtin_table(EnumKind::cmd);
  CHECK(cmds.find("prog_run") == 10u);
  CHECK(cmds.name_of(10) == "prog_test_run");
  const EnumTable& maps = builtin_table(EnumKind::map);
  CHECK(maps.find("cgroup_storage") == 19u);
  CHECK(maps.name_of(19) == "cgroup_storage_deprecated");
}

TEST_CASE("catalogue: systemd spellings") {
  CHECK(systemd_name(EnumKind::cmd, "MAP_CREATE") == "BPFMapCreate");
  CHECK(systemd_name(EnumKind::map, "ARRAY") == "BPFMapTypeArray");
  CHECK(systemd_name(EnumKind::prog, "XDP") == "BPFProgTypeXdp");
  CHECK(systemd_name(EnumKind::attach, "CGROUP_INET_INGRESS") == "BPFCgroupInetIngress");
  CHECK(systemd_name(EnumKind::cmd, "BTF_LOAD") == "BPFBtfLoad");
}

TEST_CASE("catalogue: every spelling users write resolves") {
  const EnumTable& cmds = builtin_table(EnumKind::cmd);
  CHECK(lookup_any_spelling(cmds, "map_create") == 0u);
  CHECK(lookup_any_spelling(cmds, "BPF_MAP_CREATE") == 0u);
  CHECK(lookup_any_spelling(cmds, "BPFMapCreate") == 0u);
  CHECK(lookup_any_spelling(cmds, "bpfmapcreate") == 0u);
  CHECK(lookup_any_spelling(cmds, "BPFObjPin") == 6u);
  CHECK(lookup_any_spelling(builtin_table(EnumKind::map), "BPFMapTypeRingbuf") == 27u);
  CHECK(lookup_any_spelling(builtin_table(EnumKind::prog), "BPFProgTypeTracepoint") == 5u);
  CHECK(lookup_any_spelling(builtin_table(EnumKind::prog), "BPF_PROG_TYPE_XDP") == 6u);
  CHECK(lookup_any_spelling(builtin_table(EnumKind::attach), "BPFFlowDissector") == 17u);
  CHECK_FALSE(lookup_any_spelling(cmds, "map_crate").has_value());
  CHECK_FALSE(lookup_any_spelling(cmds, "").has_value());
}

TEST_CASE("catalogue: suggestions for misspelt names") {
  auto s = suggest(builtin_table(EnumKind::map), "hsah");
  REQUIRE_FALSE(s.empty());
  CHECK(s.front() == "hash");
  auto c = suggest(builtin_table(EnumKind::cmd), "map_crate");
  REQUIRE_FALSE(c.empty());
  CHECK(c.front() == "map_create");
  CHECK(suggest(builtin_table(EnumKind::prog), "zzzzzzzzzzzz").empty());
}

TEST_CASE("catalogue: token capabilities") {
  CHECK(capability_by_name("CAP_BPF") == 39);
  CHECK(capability_by_name("perfmon") == 38);
  CHECK(capability_by_name("cap_net_admin") == 12);
  CHECK(capability_by_name("CAP_SYS_ADMIN") == 21);
  CHECK_FALSE(capability_by_name("CAP_CHOWN").has_value());
}

TEST_CASE("catalogue: per-kernel tables match the uapi header") {
  // The build's linux-libc-dev: 6.12 from bookworm-backports, newer on later suites. A table for
  // the header's kernel has the header's __MAX_ values; a header newer than the catalogue may only
  // add values after the catalogue's (which `doctor` then reports on such a kernel).
  KernelVersion header{static_cast<int>(LINUX_VERSION_CODE >> 16), static_cast<int>((LINUX_VERSION_CODE >> 8) & 0xff)};
  const uint32_t max[] = {__MAX_BPF_CMD, __MAX_BPF_MAP_TYPE, __MAX_BPF_PROG_TYPE, __MAX_BPF_ATTACH_TYPE};
  for (auto kind : kAllKinds) {
    uint32_t want = max[static_cast<size_t>(kind)];
    CAPTURE(kind_noun(kind));
    CAPTURE(header.str());
    if (header <= kCatalogueKernel) {
      CHECK(table_for_kernel(kind, header).max == want);
    } else {
      CHECK(builtin_table(kind).max <= want);
      if (builtin_table(kind).max < want)
        MESSAGE("the ", header.str(), " uapi header has ", want - builtin_table(kind).max, " ", kind_noun(kind),
                " values the catalogue (", kCatalogueKernel.str(), ") lacks");
    }
  }
  KernelVersion v612{6, 12};
  CHECK_FALSE(table_for_kernel(EnumKind::attach, v612).find("trace_uprobe_session").has_value());
  CHECK(table_for_kernel(EnumKind::attach, {6, 13}).find("trace_uprobe_session") == 57u);
  CHECK(introduced_in(EnumKind::cmd, "prog_stream_read_by_fd") == KernelVersion{6, 17});
  CHECK(introduced_in(EnumKind::map, "hash") == kTokenKernel);
}

TEST_CASE("catalogue: kernel versions") {
  CHECK(parse_kernel_version("6.12") == KernelVersion{6, 12});
  CHECK(parse_kernel_version("7.3.4") == KernelVersion{7, 3});
  CHECK(parse_kernel_version("6.12.95-cloud-amd64") == KernelVersion{6, 12});
  CHECK_FALSE(parse_kernel_version("six").has_value());
  CHECK_FALSE(parse_kernel_version("6").has_value());
  CHECK(KernelVersion{6, 9} < KernelVersion{6, 12});
}
