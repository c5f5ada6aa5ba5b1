// SPDX-License-Identifier: Apache-2.0
// The BPF LSM backend: Ir -> the tables the programs in lsm-progs/ read (layouts in tw_abi.h).
//
// Every alternative (conjunction) of every profile becomes one or more `tw_conj` records, in
// first-match order. An alternative is indexed under one exact value it requires (an executable,
// a cgroup, a bpffs, a comm, a uid, ...), chosen most selective first, so that the create hook
// looks up a fixed number of keys whatever the number of profiles; alternatives with no exact
// value go to a short scan list. Sets larger than an atom holds are split into more alternatives.
// Paths are turned into kernel identities by a Resolver the caller provides (the loader stats
// them); the backend itself does no I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "diagnostics.h"
#include "ir.h"
#include "source.h"
#include "vocab/policy_tables.h"

namespace tw::compiler {

// What the programs compare for one path (tw_atom.ids, layouts in tw_abi.h), and what to tell
// the operator about it.
struct Resolution {
  std::optional<std::pair<uint64_t, uint64_t>> id;  // nothing: the value never matches
  std::string warning;  // probably not what was meant
  std::string info;     // worth knowing
};

struct Resolver {
  // {device, path hash} of an executable.
  std::function<Resolution(const std::string& path)> exe;
  // {path hash, 0} of a cgroup path relative to the cgroup2 root ("/system.slice/x.service");
  // the backend adds the level for `under`.
  std::function<Resolution(const std::string& path)> cgroup;
  // {path hash, 0} of a bpffs mount point in the creator's mount namespace.
  std::function<Resolution(const std::string& path)> bpffs;
};

using BpfTables = vocab::PolicyTables;

struct BpfBackendError {
  std::string message;
  std::string profile;  // the profile at fault, when one is
  std::string hint;
};

// Fails (nullopt, `error` set) when the policy cannot be represented: a scan list over
// TW_MAX_SCAN, an alternative needing more than TW_MAX_ATOMS atoms, too many alternatives
// sharing one value.
std::optional<BpfTables> lower_to_bpf(const Ir& ir, const Resolver& resolve, BpfBackendError& error);

// The same limits, host-independent, as a diagnostic (E033 at the profile's span): run by the
// pipeline, so that `check` fails and `compile` writes nothing for a policy `load` would refuse.
// False when reported.
bool check_bpf_capacity(const Ir& ir, const SourceSet& sources, Diagnostics& diags);

}  // namespace tw::compiler
