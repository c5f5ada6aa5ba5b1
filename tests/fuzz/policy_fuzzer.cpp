// SPDX-License-Identifier: Apache-2.0
// libFuzzer target over the whole compiler front end: the input is a policy (its include resolves
// to a fixed second file), compiled through every stage; diagnostics are rendered; an IR, when
// produced, must survive JSON and the artifact format unchanged and be explainable and
// evaluable. The same bytes are then read as a decision-case file and as an artifact.
// Built with clang -fsanitize=fuzzer,address,undefined by scripts/fuzz.sh.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "compiler/artifact.h"
#include "compiler/bpf_backend.h"
#include "compiler/cases.h"
#include "compiler/explain.h"
#include "compiler/ir_io.h"
#include "compiler/pipeline.h"

using namespace tw::compiler;

namespace {

const char* kIncluded =
    "grants shared { allow cmd map_create, btf_load; allow map array; limit maps 4; }\n"
    "profile included { match creator.uid == 7; use shared; }\n";

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "invariant broken: %s\n", what);
  abort();
}

void exercise(const Ir& ir, uint64_t seed) {
  std::string error;
  nlohmann::json j = ir_to_json(ir);
  auto back = ir_from_json(j, error);
  if (!back || ir_to_json(*back) != j) fail("IR JSON round trip");
  auto artifact = read_artifact(write_artifact(ir, "fuzz"), error);
  if (!artifact || ir_to_text(artifact->ir) != ir_to_text(ir)) fail("artifact round trip");
  (void)explain(ir);
  // The BPF backend, with paths resolving to made-up identities (or not at all).
  Resolver resolver{
      [seed](const std::string& p) -> Resolution {
        if ((seed + p.size()) % 3 == 0) return {std::nullopt, "is a directory", ""};
        return {std::make_pair(uint64_t{8}, uint64_t{p.size()}), "", ""};
      },
      [seed](const std::string& p) -> Resolution {
        if ((seed ^ p.size()) % 4 == 0) return {std::nullopt, "", ""};
        return {std::make_pair(uint64_t{p.size() + 1}, uint64_t{0}), "", "no such cgroup now"};
      },
      [](const std::string& p) -> Resolution { return {std::make_pair(uint64_t{p.size() * 7}, uint64_t{0}), "", ""}; },
  };
  BpfBackendError backend_error;
  if (auto tables = lower_to_bpf(ir, resolver, backend_error)) {
    if (tables->profiles.size() != ir.profiles.size()) fail("a profile lost by the BPF backend");
    for (const auto& c : tables->conjs)
      if (c.n_atoms > TW_MAX_ATOMS) fail("an alternative over TW_MAX_ATOMS");
    for (const auto& [k, v] : tables->index)
      if (v.n > TW_CHUNK) fail("an index chunk over TW_CHUNK");
    if (tables->scan.size() > TW_MAX_SCAN) fail("a scan list over TW_MAX_SCAN");
  }
  Event e;
  e.creator.uid = static_cast<uint32_t>(seed % 2000);
  e.creator.gid = static_cast<uint32_t>(seed % 7);
  e.creator.comm = "agent";
  e.creator.exe = "/bin/agent";
  e.creator.cgroup = seed & 1 ? "/a/b" : "/";
  e.token.cmds = seed;
  e.token.maps = seed >> 3;
  e.token.progs = seed >> 7;
  e.token.attachs = ~seed;
  e.token.userns_depth = static_cast<uint32_t>(seed % 4);
  e.cmd = static_cast<uint32_t>(seed % 40);
  e.cap = static_cast<int>(seed % 41);
  e.map = {static_cast<uint32_t>(seed % 34), static_cast<uint32_t>(seed), 8, 8, static_cast<uint32_t>(seed >> 20)};
  e.prog = {static_cast<uint32_t>(seed % 33), static_cast<uint32_t>(seed % 58), static_cast<uint32_t>(seed >> 5), (seed & 2) != 0};
  e.maps_created = static_cast<uint32_t>(seed % 5);
  for (int h = 0; h <= static_cast<int>(Hook::prog_load); ++h) {
    e.hook = static_cast<Hook>(h);
    e.preexisting = false;
    Decision d = evaluate(ir, e);
    if (d.outcome == Outcome::deny && d.err == 0) fail("a denial without an errno");
    e.preexisting = true;
    (void)evaluate(ir, e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  uint64_t seed = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) seed = (seed ^ c) * 0x100000001b3ULL;

  CompileOptions options;
  options.read = [&](const std::string& path, std::string& error) -> std::optional<std::string> {
    if (path == "p.tw") return text;
    if (path == "inc.tw" || path == "common.tw") return std::string(kIncluded);
    error = "No such file or directory";
    return std::nullopt;
  };
  Compilation c = compile_policy("p.tw", options);
  for (const auto& d : c.diags.all()) (void)render_text(d, c.sources);
  (void)render_json(c.diags.all(), c.sources);
  if (c.ir && c.diags.has_errors()) fail("an IR despite errors");
  if (c.ir) exercise(*c.ir, seed);

  SourceSet sources;
  Diagnostics diags;
  auto cases = parse_cases(sources, sources.add("c.cases", text), diags);
  for (const auto& d : diags.all()) (void)render_text(d, sources);
  if (c.ir)
    for (const auto& k : cases) (void)run_case(*c.ir, k);

  std::string error;
  (void)read_artifact(text, error);
  return 0;
}
