// SPDX-License-Identifier: Apache-2.0
// What load and replace share: a policy source or artifact turned into the BPF tables (paths
// resolved on this host), and the check that this kernel can enforce at all, made before
// anything is loaded.
#pragma once

#include <optional>
#include <string>

#include "compiler/bpf_backend.h"
#include "kernel/enforcer.h"
#include "kernel/resolve.h"
#include "commands.h"
#include "policy_cli.h"

namespace tw::tools {

struct EnforceOptions {
  PolicyOptions policy;
  std::string pin_root = kernel::kPinRoot;
  uint32_t token_capacity = 65536;
  uint32_t counter_capacity = 0;
  uint32_t object_capacity = 65536;
  uint32_t creator_capacity = 65536;
  uint32_t events_per_sec = 1000;
  bool log_allowed = false;
  double wait_s = 30;          // for the pin root's lock
  std::string expect_sha256;   // refuse any other policy
  bool force = false;          // enforce a policy with no profiles
  bool or_replace = false;     // load: replace the loaded policy if there is one
};
void add_enforce_options(CLI::App* cmd, EnforceOptions& o, bool sizes);
void add_wait_option(CLI::App* cmd, double& wait_s);
// --pin-root, for every verb that reads or writes the pinned programs and maps.
void add_pin_root_option(CLI::App* cmd, std::string& pin_root);

// Reports diagnostics or backend errors and fails with their exit code. Refuses a policy file
// that another user could have written, one whose hash is not --expect-sha256, and one with no
// profiles unless --force. Sets the document's "sha256".
Outcome<vocab::PolicyTables> tables_for(const std::string& path, const EnforceOptions& o);
// The document's keys that say what was loaded: policy_name, profiles, alternatives, indexed,
// scanned, pin_root.
void describe_policy(const vocab::PolicyTables& tables, const std::string& pin_root);
// The document of load and replace: those keys, and policy, sha256, generation, replaced,
// diagnostics.
void begin_enforce_document(std::string_view verb, const std::string& path);

// This host's paths as the programs compare them, hashed with `hasher` (which must outlive it);
// `check --target-kernel running` shows what it says about a policy's paths.
compiler::Resolver host_resolver(const kernel::PathHasher& hasher);

// Takes the pin root's writer lock (waiting up to `wait_s` seconds) and finishes what killed
// writers left behind, saying what it cleaned. Fails with 2 when the lock cannot be had.
Outcome<kernel::PinLock> lock_pin_root(const std::string& pin_root, double wait_s);

// Switches the loaded policy to `tables` under `lock`, reporting the outcome; the exit code.
int replace_loaded(kernel::Enforcer& e, const vocab::PolicyTables& tables, const EnforceOptions& o,
                   kernel::PinLock& lock);

// False (with the reasons printed) when this kernel cannot run BPF LSM programs.
bool kernel_can_enforce(std::string_view verb);

}  // namespace tw::tools
