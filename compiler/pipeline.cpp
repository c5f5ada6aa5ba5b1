// SPDX-License-Identifier: Apache-2.0
#include "pipeline.h"

#include "analysis.h"
#include "bpf_backend.h"
#include "lower.h"

namespace tw::compiler {

Compilation compile_policy(const std::string& path, const CompileOptions& options) {
  Compilation c;
  c.diags.set_limit(options.diagnostic_limit);
  // Each stage's input is released as soon as the next stage has it: peak memory is two stages.
  CheckedPolicy checked;
  {
    // Lexing, parsing and includes: syntax errors of every file are collected before stopping.
    std::vector<Stmt> stmts = load_policy(path, c.sources, c.diags, options.read);
    if (c.diags.has_errors()) return c;
    // Names must resolve before anything is normalised.
    checked = check(stmts, c.sources, path, options.target, c.diags);
    if (c.diags.has_errors()) return c;
  }
  // Lowering assumes resolved names and valid values.
  Ir ir = lower(checked, c.sources, c.diags);
  checked = {};
  if (c.diags.has_errors()) return c;
  // Shadowing is only decidable on the normal form.
  analyse(ir, c.sources, c.diags);
  // The BPF backend's fixed sizes hold whatever host the policy is loaded on.
  check_bpf_capacity(ir, c.sources, c.diags);
  if (c.diags.has_errors()) return c;
  c.ir = std::move(ir);
  return c;
}

}  // namespace tw::compiler
