// What load and replace share: a policy source or artifact turned into the BPF tables (paths
// resolved on this host), and the check that this kernel can enforce at all, made before
// anything is loaded.
#pragma once

#include <optional>
#include <string>

#include "kernel/enforcer.h"
#include "policy_cli.h"

namespace tw::tools {

struct EnforceOptions {
  PolicyOptions policy;
  std::string pin_root = kernel::kPinRoot;
  uint32_t token_capacity = 65536;
  uint32_t events_per_sec = 1000;
  bool log_allowed = false;
};
void add_enforce_options(CLI::App* cmd, EnforceOptions& o, bool sizes);

// Prints diagnostics or backend errors; sets exit_code and returns nullopt on failure.
std::optional<kernel::PolicyTables> tables_for(const std::string& path, const EnforceOptions& o, int& exit_code);

// False (with the reasons printed) when this kernel cannot run BPF LSM programs.
bool kernel_can_enforce(std::string_view verb);

}  // namespace tw::tools
