// SPDX-License-Identifier: Apache-2.0
// The SELinux backend: Ir -> CIL for the part of a policy SELinux can enforce (Linux 7.0's token
// checks, through the interfaces of tokenwarden's SELinux module, selinux-module/).
//
// An alternative of a match clause is SELinux-visible when it names its creators by type
// (`creator.selinux_type == T`, positive); `token.delegator.selinux_type == G` names who set up
// the bpffs (none: any domain). For each visible alternative the backend grants, from G to T,
// what SELinux can check of the profile's grants: map creation and program loading with a token
// (map_create_as/prog_load_as and the delegator's map_create/prog_load) and the capabilities
// CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_ADMIN through the token (cap_userns,
// cap2_userns). First-match order is kept where SELinux can see it: a creator type (and
// delegator) that an earlier alternative of only SELinux attributes already decides gets nothing
// from later profiles, and a `refuse` profile grants nothing. Everything else (map and program
// types, limits, quotas, strict, the other attributes, other commands, `default allow`) is the
// BPF LSM's: SELinux then grants a superset, and with both loaded the stricter decision wins.
//
// Generated CIL carries line marks (`;;* lms LINE FILE`), so libsepol's messages name the .tw
// lines; check_cil() compiles it in-process with libsepol's CIL compiler.
#pragma once

#include <string>
#include <vector>

#include "diagnostics.h"
#include "ir.h"
#include "source.h"

namespace tw::compiler {

struct CilCoverage {
  std::string profile;
  std::vector<std::string> selinux;   // what SELinux enforces, one line each
  std::vector<std::string> bpf_only;  // what only the BPF LSM enforces
};

struct CilModule {
  std::string text;                    // the CIL, with line marks
  std::vector<std::pair<std::string, std::string>> types;  // every type it names, and where first
                                                           // ("file:line:col" of its profile)
  std::vector<CilCoverage> coverage;   // per profile, in order
};

CilModule lower_to_cil(const Ir& ir);

// Compiles `module` with libsepol against the minimal base policy and the module interfaces of
// selinux-module/ (both built in), declaring the types it names that the base lacks. Each
// problem becomes an E031 diagnostic at the .tw line its line mark names (or at the policy's
// first line). True when it compiled.
bool check_cil(const CilModule& module, const SourceSet& sources, Diagnostics& diags);

}  // namespace tw::compiler
