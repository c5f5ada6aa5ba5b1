// SPDX-License-Identifier: Apache-2.0
// Decision cases: a policy's expected verdicts, beside it as NAME.cases. One case per section:
//
//   [ci runner may create an array map]
//   hook    = map_create
//   creator = uid=1500 comm=gitlab-runner cgroup=/system.slice/gitlab-runner.service
//   token   = cmds=map_create maps=array,hash bpffs=/run/ci/bpffs
//   map     = type=array max_entries=128 key_size=4 value_size=8
//   expect  = allow ci_runner
//
// A `[defaults]` section sets values every later case starts from. The same cases run on the
// reference evaluator (`tokenwarden test`, unit tests) and on real kernels (VM tests).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "evaluator.h"
#include "source.h"

namespace tw::compiler {

struct Expectation {
  Outcome outcome = Outcome::allow;
  std::optional<std::string> profile;  // "" = no profile; nullopt = not checked
  std::optional<int> err;
};

struct DecisionCase {
  std::string name;
  Span span;  // the section header
  Event event;
  Expectation expect;
};

// Parses a case file already in `sources`; errors (with spans) go to `diags`.
std::vector<DecisionCase> parse_cases(const SourceSet& sources, uint32_t file, Diagnostics& diags);

struct CaseResult {
  const DecisionCase* c = nullptr;
  Decision got;
  bool passed = false;
  std::string diff;  // "expected deny by `x`, got allow by `y`"
};

CaseResult run_case(const Ir& ir, const DecisionCase& c);
std::string describe(const Expectation& e);  // "deny by profile `x`"

}  // namespace tw::compiler
