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

#include "ir.h"
#include "kernel/policy_tables.h"

namespace tw::compiler {

struct Resolver {
  // {device (kernel encoding, MAJOR << 20 | MINOR), inode} of an executable.
  std::function<std::optional<std::pair<uint64_t, uint64_t>>(const std::string& path)> exe;
  // cgroup v2 id of a path relative to the cgroup2 root ("/system.slice/x.service").
  std::function<std::optional<uint64_t>(const std::string& path)> cgroup;
  // device (kernel encoding) of the bpffs instance mounted at a path.
  std::function<std::optional<uint64_t>(const std::string& path)> bpffs;
};

using BpfTables = kernel::PolicyTables;

struct BpfBackendError {
  std::string message;
};

// Fails (nullopt, `error` set) when the policy cannot be represented: a scan list over
// TW_MAX_SCAN, an alternative needing more than TW_MAX_ATOMS atoms, too many alternatives
// sharing one value.
std::optional<BpfTables> lower_to_bpf(const Ir& ir, const Resolver& resolve, BpfBackendError& error);

}  // namespace tw::compiler
