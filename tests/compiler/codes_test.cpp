// SPDX-License-Identifier: Apache-2.0
// One policy per diagnostic code that triggers it, with where it must point. A new code without
// a row here fails "every code has a negative test".
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "compile_support.h"

using namespace tw;
using tw::test::codes_at;
using tw::test::compile_files;
using tw::test::compile_text;

namespace {

struct Row {
  const char* code_at;  // "E013@5:9"
  std::map<std::string, std::string> files;
  compiler::TargetKernel target{};
};

const std::string kOk = "profile ok { match any; allow cmd map_create; allow map array; }\n";

std::vector<Row> rows() {
  compiler::TargetKernel k612;
  k612.version = vocab::KernelVersion{6, 12};
  k612.label = "6.12";
  // A kernel whose BTF has a map type the catalogue lacks (what `--target-kernel running` reads).
  compiler::TargetKernel newer;
  newer.label = "running (9.1.0)";
  newer.tables.emplace();
  for (auto kind : vocab::kAllKinds) (*newer.tables)[static_cast<size_t>(kind)] = vocab::builtin_table(kind);
  auto& maps = (*newer.tables)[static_cast<size_t>(vocab::EnumKind::map)];
  maps.entries.push_back({"QUANTUM_HASH", maps.max});
  ++maps.max;
  return {
      {"E001@1:1", {{"p.tw", "$profile x { match any; }"}}},
      {"E002@1:9", {{"p.tw", "include \"common.tw\n"}}},
      {"E003@1:22", {{"p.tw", "profile x { match any }"}}},  // the missing `;`: right after `any`
      {"E004@1:34", {{"p.tw", "profile x { match creator.uid == 99999999999999999999999; }"}}},
      {"E010@1:34", {{"p.tw", "profile x { match any; allow map hsah; }"}}},
      {"E011@1:19", {{"p.tw", "profile x { match creator.pid == 1; }"}}},
      {"E012@1:28", {{"p.tw", "profile x { match any; use nothing; }"}}},
      {"E013@2:9", {{"p.tw", "profile x { match any; }\nprofile x { match any; }"}}},
      {"E014@2:8", {{"p.tw", "grants g { allow cap CAP_BPF; }\ngrants g { allow cap CAP_BPF; }\n" + kOk}}},
      {"E015@1:9", {{"p.tw", "include \"nope.tw\";"}}},
      {"E016@1:9", {{"p.tw", "include \"q.tw\";"}, {"q.tw", "include \"p.tw\";"}}},
      {"E017@1:34", {{"p.tw", "profile x { match creator.uid in 5..1; }"}}},
      {"E018@2:1", {{"p.tw", "mode audit;\nmode enforce;\n" + kOk}}},
      {"E019@1:63", {{"p.tw", "profile x { match any; allow cmd map_create; allow map array; limit maps 0; }"}}},
      {"E019@1:24", {{"p.tw", "profile x { match any; limit tokens 0; }"}}},
      {"E019@1:62", {{"p.tw", "profile x { match any; allow cmd map_create; allow map hash; limit maps 0 per profile; }"}}},
      {"E019@2:36", {{"p.tw", "profile x { match any; allow cmd map_create; allow map hash, lru_hash;\n"
                             "limit max_entries 10 for map hash; limit max_entries 20 for map lru_hash, hash; }"}}},
      {"E030@1:42", {{"p.tw", "profile x { match any; limit insns 5 per profile; }"}}},
      {"E019@1:40", {{"p.tw", "profile x { match any; limit tokens 2; reserve tokens 3; }"}}},
      {"E010@1:32", {{"p.tw", "profile x { match any; reserve maps 3; }"}}},
      {"E029@1:12", {{"p.tw", "grants g { reserve tokens 3; }\nprofile x { match any; use g; }"}}},
      {"E030@1:43", {{"p.tw", "profile x { match any; limit tokens 5 per token; }"}}},
      {"E030@1:43", {{"p.tw", "profile x { match any; limit tokens 5 per cgroup; }"}}},
      {"E030@1:41", {{"p.tw", "profile x { match any; limit maps 5 per uid; }"}}},
      {"E019@1:24", {{"p.tw", "profile x { match any; limit tokens 0 per userns; }"}}},
      {"E030@1:41", {{"p.tw", "profile x { match any; limit maps 5 for map hash; }"}}},
      {"E030@1:48", {{"p.tw", "profile x { match any; limit max_entries 5 for prog xdp; }"}}},
      {"E020@1:19",
       {{"p.tw",
         "profile x { match (creator.uid == 1 or creator.uid == 2) and (creator.gid == 1 or creator.gid == 2) and "
         "(creator.comm == \"a\" or creator.comm == \"b\") and (token.userns.depth == 1 or token.userns.depth == 2) and "
         "(creator.exe == \"/a\" or creator.exe == \"/b\") and (token.bpffs == \"/a\" or token.bpffs == \"/b\") and "
         "(token.userns.owner == 1 or token.userns.owner == 2); }"}}},
      {"E021@1:9", {{"p.tw", "profile x { allow cmd btf_load; }"}}},
      {"E022@1:30", {{"p.tw", "profile x { match any; errno EWHAT; }"}}},
      {"E023@1:21", {{"p.tw", "preexisting profile nobody;\n" + kOk}}},
      {"E024@1:34", {{"p.tw", "profile x { match creator.exe == \"bin/agent\"; }"}}},
      {"E025@2:16", {{"p.tw", "grants a { use b; }\ngrants b { use a; }\nprofile x { match any; use a; }"}}},
      {"E027@1:35", {{"p.tw", "profile x { match creator.comm == \"sixteen-chars-xx\"; }"}}},
      {"E029@1:24", {{"p.tw", "profile x { match any; default deny; }"}}},
      {"E030@1:9", {{"p.tw", "default maybe;\n" + kOk}}},
      {"E030@1:40", {{"p.tw", "profile x { match creator.cgroup under \"/a/../b\"; }"}}},
      {"E030@1:37", {{"p.tw", "profile x { match creator.cgroup == \"/a//b\"; }"}}},
      // Nine attributes in one alternative; the BPF backend's conjunctions hold eight atoms.
      {"E033@1:9", {{"p.tw", "profile wide { match creator.uid == 1 and creator.gid == 1 and creator.comm == \"a\" and "
                              "creator.exe == \"/a\" and creator.cgroup == \"/a\" and token.bpffs == \"/a\" and "
                              "token.userns.owner == 1 and token.userns.depth == 1 and token delegates cmd map_create; "
                              "allow cmd map_create; }"}}},
      {"W101@1:74", {{"p.tw", "profile x { match any; allow cmd prog_load; allow prog xdp; allow attach trace_uprobe_session; }"}}, k612},
      {"W102@1:9", {{"p.tw", "profile x { match creator.uid == 1 and creator.uid == 2; }"}}},
      {"W103@2:9", {{"p.tw", "profile a { match creator.uid in 0..1000; }\nprofile b { match creator.uid == 5 and creator.gid == 5; }"}}},
      {"W104@1:34", {{"p.tw", "profile x { match any; allow cmd obj_pin; }"}}},
      {"W105@1:9", {{"p.tw", "profile x { match any; allow map array; }"}}},
      {"W106@1:9", {{"p.tw", "profile x { match any; allow cmd prog_load; allow prog kprobe; allow attach cgroup_inet_ingress; allow cap CAP_PERFMON; }"}}},
      {"W107@1:9", {{"p.tw", "profile x { match any; allow cap CAP_SYS_ADMIN; }"}}},
      {"W108@1:34", {{"p.tw", "profile x { match any; allow cmd any; }"}}},
      {"W109@1:24", {{"p.tw", "profile x { match any; limit insns 10; }"}}},
      {"W109@1:62", {{"p.tw", "profile x { match any; allow cmd map_create; allow map hash; limit max_entries 16 for map ringbuf; }"}}},
      {"W109@1:24", {{"p.tw", "profile x { match any; limit progs 3 per profile; }"}}},
      {"W109@1:32", {{"p.tw", "profile x { match any; refuse; reserve tokens 3; }"}}},
      {"W109@1:40", {{"p.tw", "profile x { match any; limit tokens 4; limit tokens 4 per uid; }"}}},
      {"W109@1:32", {{"p.tw", "profile x { match any; refuse; limit tokens 2 per userns; }"}}},
      {"W110@1:9", {{"p.tw", "profile x { match any; allow cmd prog_load; allow prog xdp; }"}}},
      {"W111@1:8", {{"p.tw", "grants unused { allow cap CAP_BPF; }\n" + kOk}}},
      {"W112@1:9", {{"p.tw", "profile x { match creator.selinux_type == container_t; }"}}},
      {"W114@1:1", {{"p.tw", "policy p;\ndefault deny;\n"}}},
      {"W115@1:56", {{"p.tw", "profile x { match any; allow cmd map_create; allow map quantum_hash; }"}}, newer},
  };
}

}  // namespace

TEST_CASE("diagnostics: each code is reported where the mistake is") {
  for (const auto& row : rows()) {
    std::string expected = row.code_at;
    CAPTURE(expected);
    auto c = compile_files(row.files, "p.tw", row.target);
    auto got = codes_at(c);
    CAPTURE(fmt::format("{}", fmt::join(got, " ")));
    CHECK(std::find(got.begin(), got.end(), expected) != got.end());
  }
}

TEST_CASE("diagnostics: every code has a negative test") {
  std::set<std::string> tested;
  for (const auto& row : rows()) tested.insert(std::string(row.code_at).substr(0, 4));
  // E026 (over a million profiles) and E028 (a 64-bit hash collision) are tested directly below
  // and in lower_test.cpp; W113 in analysis_test.cpp; E031 (the SELinux backend) in
  // cil_backend_test.cpp; E032 (artifacts) in artifact_test.cpp.
  // E040, E041 and W120 to W125 (`import`) in import_systemd_test.cpp and import_container_test.cpp; E042 and E043
  // (event files, `generate`) in learn_test.cpp.
  tested.insert({"E026", "E028", "W113", "E031", "E032", "E040", "E041", "E042", "E043", "W120", "W121", "W122", "W123",
                 "W124", "W125"});
  for (auto code : compiler::all_codes()) {
    CAPTURE(compiler::code_name(code));
    CHECK(tested.count(std::string(compiler::code_name(code))) == 1);
  }
}

TEST_CASE("diagnostics: a policy with ten mistakes gets ten diagnostics") {
  auto c = compile_text(R"(policy ten;
default maybe;
grants base { allow cmd map_create, prog_lod; allow map hsah; }
profile agent {
  match creator.uid in 2000..1000 or creator.exe == "usr/bin/agent";
  use bsae;
  allow cap CAP_CHOWN;
  limit max_entires 10;
  errno ENOPE;
}
profile agent { match creator.comm == "a-very-long-command-name"; }
)");
  std::vector<std::string> errors;
  for (const auto& d : c.diags.all())
    if (d.severity == compiler::Severity::error) errors.push_back(std::string(compiler::code_name(d.code)));
  CHECK(errors == std::vector<std::string>{"E030", "E010", "E010", "E017", "E024", "E012", "E010", "E010", "E022",
                                           "E013", "E027"});
  CHECK_FALSE(c.ir.has_value());
}
