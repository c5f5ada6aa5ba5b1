// SPDX-License-Identifier: Apache-2.0
// The checker's lints on one profile's body (W105, W106, W107, W109, W110, E019): grants that
// cannot work together, or are more than they look. Kept apart from the checking of statements
// and match clauses (checker.cpp), which produces what they read.
#pragma once

#include "checker.h"
#include "diagnostics.h"

namespace tw::compiler {

// A body's grants, limits and the spans they came from (for notes on contradictions).
struct GrantSet {
  Grants grants;
  std::vector<GrantRef> refs;
  Limits limits;
  Span limit_span[kLimitKinds];
  std::vector<Span> per_type_span;  // of limits.per_type's statements
  Span map_flags_span, sleepable_span, reserve_span;
};

void lint_profile(const CheckedProfile& p, const GrantSet& set, Diagnostics& diags);

}  // namespace tw::compiler
