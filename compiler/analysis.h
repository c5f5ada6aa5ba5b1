// SPDX-License-Identifier: Apache-2.0
// Stage 5: lints that need the normalised IR: profiles that can never match (W102) and profiles
// that an earlier profile shadows in first-match order (W103). The shadow check indexes earlier
// match alternatives by the attributes they test and their exact values, so it stays linear for
// policies of many specific profiles; it stops after a fixed amount of work on pathological ones
// and says so (W113).
#pragma once

#include "diagnostics.h"
#include "ir.h"

namespace tw::compiler {

inline constexpr size_t kShadowBudget = 4'000'000;  // atom comparisons

void analyse(const Ir& ir, const SourceSet& sources, Diagnostics& diags);

// True when every situation `b` holds in also satisfies `a` (a sufficient test).
bool covers(const Conjunction& a, const Conjunction& b);

}  // namespace tw::compiler
