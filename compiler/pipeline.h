// SPDX-License-Identifier: Apache-2.0
// The compiler's stages, in order, written down once:
//
//   load      source files -> tokens -> statements   (lexer.h, parser.h, loader.h: includes)
//   check     statements   -> CheckedPolicy          (checker.h: names, values, per-profile lints)
//   lower     CheckedPolicy -> Ir                    (lower.h: DNF, defaults, identities)
//   analyse   Ir           -> lints                  (analysis.h: never-matching, shadowed)
//
// Each stage takes the previous stage's value, so a wrong order does not compile. Every error of
// a stage is reported, then the pipeline stops before the next stage: a policy with errors never
// yields an IR, and so never an artifact. Warnings do not stop it.
#pragma once

#include <optional>
#include <string>

#include "checker.h"
#include "diagnostics.h"
#include "ir.h"
#include "loader.h"
#include "source.h"

namespace tw::compiler {

struct CompileOptions {
  TargetKernel target;
  FileReader read = filesystem_reader();
  size_t diagnostic_limit = 0;  // errors and warnings kept, each (0: all): Diagnostics::set_limit
};

struct Compilation {
  SourceSet sources;
  Diagnostics diags;
  std::optional<Ir> ir;  // set when no stage reported an error
};

Compilation compile_policy(const std::string& path, const CompileOptions& options = {});

}  // namespace tw::compiler
