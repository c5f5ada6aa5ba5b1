// SPDX-License-Identifier: Apache-2.0
// `import systemd`: unit files to strict profiles that check clean, and lints and errors at the
// unit file's line.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "compile_support.h"
#include "compiler/import_systemd.h"

using namespace tw;
using namespace tw::compiler;
using tw::test::has;
using tw::test::Imported;

namespace {

Imported import_units(const std::vector<std::pair<std::string, std::string>>& units,
                      std::optional<vocab::KernelVersion> kernel = vocab::KernelVersion{7, 3}) {
  return test::import_sources(units, [&](const SourceSet& s, Diagnostics& d) { return import_systemd(s, 0, d, {kernel}); });
}

const char* kApp = R"([Unit]
Description=an application with a token
[Service]
PrivateUsers=yes
PrivateBPF=yes
# the delegation
BPFDelegateCommands=BPFMapCreate,BPFProgLoad
BPFDelegateMaps=BPFMapTypeArray \
  BPFMapTypeRingbuf
BPFDelegatePrograms=BPFProgTypeXdp
BPFDelegateAttachments=BPFCgroupInetIngress,BPFXdp
ExecStart=/usr/bin/app
)";

}  // namespace

TEST_CASE("import systemd: a unit's delegation becomes a strict profile that checks clean") {
  auto r = import_units({{"app.service", kApp}});
  CAPTURE(fmt::format("{}", fmt::join(r.codes, " ")));
  REQUIRE(r.policy);
  CHECK(r.codes.empty());
  const std::string& p = *r.policy;
  CHECK(p.find("profile app {") != std::string::npos);
  CHECK(p.find("match creator.cgroup under \"/system.slice/app.service\"\n    and token.bpffs == \"/sys/fs/bpf\";") !=
        std::string::npos);
  CHECK(p.find("  strict;\n") != std::string::npos);
  CHECK(p.find("allow cmd map_create, prog_load;  # BPFDelegateCommands= (line 7)") != std::string::npos);
  CHECK(p.find("allow map array, ringbuf;  # BPFDelegateMaps= (line 8)") != std::string::npos);  // continued line
  CHECK(p.find("allow prog xdp;") != std::string::npos);
  CHECK(p.find("allow attach cgroup_inet_ingress, xdp;") != std::string::npos);
  CHECK(p.find("allow cap CAP_BPF, CAP_NET_ADMIN;") != std::string::npos);  // XDP asks for CAP_NET_ADMIN
  auto c = test::compile_text(p);
  CAPTURE(fmt::format("{}", fmt::join(test::codes_at(c), " ")));
  CHECK(c.ir);
  CHECK(c.diags.all().empty());
}

TEST_CASE("import systemd: slices, templates and resets") {
  auto r = import_units({{"etc/worker@.service", "[Service]\nPrivateUsers=self\nPrivateBPF=true\n"
                                                 "BPFDelegateCommands=BPFMapCreate\nBPFDelegateMaps=BPFMapTypeHash\n"},
                         {"sliced.service", "[Service]\nSlice=tenant-a.slice\nPrivateUsers=yes\nPrivateBPF=yes\n"
                                            "BPFDelegateCommands=BPFMapCreate\nBPFDelegateMaps=BPFMapTypeHash\n"
                                            "BPFDelegateMaps=\nBPFDelegateMaps=BPFMapTypeArray\n"
                                            "BPFDelegateMaps=BPFMapTypeLruHash\n"}});
  REQUIRE(r.policy);
  CHECK(r.policy->find("profile worker {") != std::string::npos);
  CHECK(r.policy->find("under \"/system.slice/system-worker.slice\"") != std::string::npos);
  CHECK(r.policy->find("under \"/tenant.slice/tenant-a.slice/sliced.service\"") != std::string::npos);
  CHECK(r.policy->find("allow map array, lru_hash;") != std::string::npos);  // the empty one reset hash
}

TEST_CASE("import systemd: a template's dashes are escaped in its slice, as systemd names it") {
  // systemd puts instances of flow-log@.service in system-flow\x2dlog.slice, one slice below
  // system.slice (`-` in a slice name means nesting, so it escapes the template's own dashes).
  auto r = import_units({{"flow-log@.service", "[Service]\nPrivateUsers=yes\nPrivateBPF=yes\n"
                                               "BPFDelegateCommands=BPFMapCreate\nBPFDelegateMaps=BPFMapTypeArray\n"}});
  REQUIRE(r.policy);
  CHECK(r.policy->find(R"(under "/system.slice/system-flow\\x2dlog.slice")") != std::string::npos);
  // The policy string holds the backslash itself: the profile matches that cgroup and not the
  // nested slices a dash would mean.
  auto c = test::compile_text("policy p;\ndefault deny;\n" + *r.policy);
  REQUIRE(c.ir);
  CAPTURE(*r.policy);
  bool found = false;
  for (const auto& profile : c.ir->profiles)
    for (const auto& conj : profile.match)
      for (const auto& atom : conj.atoms)
        for (const auto& v : atom.strings) found |= v == "/system.slice/system-flow\\x2dlog.slice";
  CHECK(found);
}

TEST_CASE("import systemd: lints on the delegation, at the unit file's line") {
  auto r = import_units({{"wide.service", "[Service]\nPrivateBPF=yes\nBPFDelegateCommands=any\n"
                                          "BPFDelegatePrograms=BPFProgTypeKprobe\nBPFDelegateAttachments=BPFXdp\n"}},
                        vocab::KernelVersion{6, 6});
  CAPTURE(fmt::format("{}", fmt::join(r.codes, " ")));
  REQUIRE(r.policy);  // lints leave the profile made
  CHECK(has(r, "W120@3:21"));  // any
  CHECK(has(r, "W123@2:12"));  // no PrivateUsers=
  CHECK(has(r, "W124@2:12"));  // 6.6 has no tokens
  CHECK(has(r, "W121@5:24"));  // attach type 0 missing
  CHECK(has(r, "W106@4:21"));  // kprobe
  CHECK(has(r, "W125@3:21"));  // map_create without maps (any includes it)
  CHECK(r.policy->find("allow cmd any;") != std::string::npos);
  CHECK(r.policy->find("CAP_PERFMON") != std::string::npos);
  auto ignored = import_units({{"off.service", "[Service]\nBPFDelegateMaps=BPFMapTypeArray\n"}});
  CHECK_FALSE(ignored.policy);
  CHECK(has(ignored, "W122@2:1"));
  CHECK(has(ignored, "E041@1:1"));
  auto types = import_units({{"t.service", "[Service]\nPrivateUsers=yes\nPrivateBPF=yes\nBPFDelegateMaps=BPFMapTypeArray\n"}});
  CHECK(has(types, "W125@4:1"));
}

TEST_CASE("import systemd: a wrong unit file is an error with its line, and nothing is generated") {
  auto r = import_units({{"bad.service", "[Service]\nPrivateBPF=yes\nBPFDelegateMaps=BPFMapTypeHsah,BPFMapTypeArray\n"
                                         "garbage line\n"}});
  CAPTURE(fmt::format("{}", fmt::join(r.codes, " ")));
  CHECK_FALSE(r.policy);
  CHECK(has(r, "E040@4:1"));
  auto names = import_units({{"n.service", "[Service]\nPrivateBPF=yes\nBPFDelegateMaps=BPFMapTypeHsah,BPFMapTypeArray\n"}});
  CHECK(has(names, "E040@3:17"));
  REQUIRE_FALSE(names.diags.all().empty());
  CHECK(names.diags.all()[0].hints.at(0) == "did you mean BPFMapTypeHash?");
  CHECK(has(import_units({{"x.service", "PrivateBPF=yes\n"}}), "E040@1:1"));        // before any section
  CHECK(has(import_units({{"x.service", "[Service\n"}}), "E040@1:1"));              // header
  CHECK(has(import_units({{"x.service", "[Service]\nPrivateBPF=maybe\n"}}), "E040@2:12"));
  CHECK(has(import_units({{"x.socket", "[Socket]\n"}}), "E040@1:1"));               // not a service
  CHECK(has(import_units({{"x.service", "[Service]\nPrivateUsers=yes\nPrivateBPF=yes\n"}}), "E041@3:12"));
  // Every one of those generated nothing; a good unit beside a bad one neither.
  CHECK_FALSE(import_units({{"app.service", kApp}, {"x.service", "[Service]\nPrivateBPF=maybe\n"}}).policy);
}
