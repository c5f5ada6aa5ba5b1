// SPDX-License-Identifier: Apache-2.0
// Stage 3: statements -> CheckedPolicy. Resolves every name against the BPF catalogue (kernel
// spellings, full enum names and systemd's, case-insensitive, "did you mean" for the rest),
// expands `use` of grants blocks, checks values, places and repetitions, and reports the
// per-profile lints (dangerous grants, grants the kernel never consults, limits without effect).
// Match clauses keep their tree shape; lowering (lower.h) normalises them.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "ir.h"

namespace tw::compiler {

struct CheckedExpr {
  enum class Kind { any, all_of, any_of, negation, predicate } kind = Kind::any;
  Span span;
  std::vector<CheckedExpr> children;
  Atom atom;  // predicate: resolved, not yet negated by an enclosing `not`
};

struct CheckedProfile {
  std::string name;
  Span span, name_span;
  std::optional<CheckedExpr> match;
  Grants grants;
  std::vector<GrantRef> grant_refs;
  Limits limits;
  std::optional<Mode> mode;
  std::optional<int> deny_errno;
  bool refuse = false, strict = false;
};

struct CheckedPolicy : PolicySettings {
  std::vector<CheckedProfile> profiles;
  std::vector<Rule> rules;  // every allow/limit/forbid statement, once
};

inline constexpr size_t kMaxProfiles = 1u << 20;

// What the policy is checked against: the builtin catalogue (Linux 6.18), a kernel version
// (names newer than it get W101), or a kernel's own BTF tables (names it lacks get W101, names
// only it has are accepted).
struct TargetKernel {
  std::string label;  // "6.12", "running (6.18.44)", "" for the builtin catalogue
  std::optional<vocab::KernelVersion> version;
  std::optional<std::array<vocab::EnumTable, 4>> tables;  // from BTF
  size_t max_profiles = kMaxProfiles;                     // the BPF backend's table size
};

CheckedPolicy check(const std::vector<Stmt>& stmts, const SourceSet& sources, const std::string& root_path,
                    const TargetKernel& target, Diagnostics& diags);


}  // namespace tw::compiler
