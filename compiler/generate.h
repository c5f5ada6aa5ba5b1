// SPDX-License-Identifier: Apache-2.0
// `tokenwarden generate EVENTS --policy LEARNING`: a least-privilege policy from what a workload
// was seen doing under a learning policy (a profile in `mode audit`, loaded with
// `--log-allowed`, so that every decision is an event). For each learning profile that decided
// events, a profile with the learning profile's match clauses, granting the commands, map,
// program and attach types and capabilities used, limits at the observed maxima plus a stated
// headroom, `strict;` when what was used covers what the bpffs delegated, and a comment per rule
// with how often, and when first and last, it was seen; and decision cases: one per observed
// decision (allowed), one refusal per thing the delegation allowed that was not used.
//
// CAP_PERFMON asked by the verifier of a program whose type does not need it to load (pointer
// leaks, uninitialised stack, the Spectre mitigations) only switches a privilege off when refused:
// it is not granted unless asked for, and the comment says what granting it would change.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "event_log.h"
#include "ir.h"
#include "source.h"

namespace tw::compiler {

struct GenerateOptions {
  unsigned headroom_percent = 25;   // limits: the observed maximum times (1 + headroom), rounded up
  std::string policy_name;          // "" : the learning policy's name with "-learned"
  bool grant_verifier_caps = false; // grant CAP_PERFMON when only the verifier asked it
};

struct Generated {
  std::string policy;  // the .tw text
  std::string cases;   // the .cases text
  size_t profiles = 0, events = 0;
};

// `statements` and `ir` are the learning policy's (load_policy, compile); `log` the events.
// Nullopt with E043 when no event was decided by a profile of the learning policy.
std::optional<Generated> generate(const std::vector<Stmt>& statements, const SourceSet& sources, const Ir& ir,
                                  const EventLog& log, const GenerateOptions& options, Diagnostics& diags);

}  // namespace tw::compiler
