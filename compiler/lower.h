// SPDX-License-Identifier: Apache-2.0
// Stage 4: CheckedPolicy -> Ir. Brings every match clause into disjunctive normal form (negations
// pushed to the atoms, numeric negations folded into interval sets, atoms of one attribute merged,
// contradictory conjunctions dropped), fills modes and errnos from the policy-wide settings, and
// gives each profile its stable identity. A clause whose normal form exceeds the BPF backend's
// per-profile budget is an error (E020); so is an identity collision (E028).
#pragma once

#include "checker.h"
#include "diagnostics.h"
#include "ir.h"

namespace tw::compiler {

inline constexpr size_t kMaxConjunctions = 64;  // per profile

using IdentityFn = uint64_t (*)(std::string_view name);
// `identity` is profile_identity() except in tests of the collision check.
Ir lower(const CheckedPolicy& policy, const SourceSet& sources, Diagnostics& diags,
         IdentityFn identity = profile_identity);

}  // namespace tw::compiler
