// SPDX-License-Identifier: Apache-2.0
// `tokenwarden import systemd UNIT-FILE...`: a strict profile for each service unit that
// delegates BPF (`PrivateBPF=yes` with `BPFDelegateCommands=`, `Maps=`, `Programs=`,
// `Attachments=`), matched by the unit's cgroup at every start and the bpffs systemd mounts for
// it, granting exactly what the unit delegates; and lints on the delegation itself, at the unit
// file's line. Unit files are read as systemd reads them (sections, `Key=value`, comments,
// backslash continuations, empty assignments resetting lists, later assignments adding).
#pragma once

#include <optional>
#include <string>

#include "diagnostics.h"
#include "source.h"
#include "vocab/catalogue.h"

namespace tw::compiler {

struct SystemdImportOptions {
  // The kernel the units will run on; before 6.9 systemd mounts no delegating bpffs (W124).
  std::optional<vocab::KernelVersion> kernel;
};

// The profiles for the unit files already in `sources` (ids `first`..`sources.size()-1`), as
// policy text that `include` can take; nullopt when a unit file has an error (E040, E041), with
// nothing generated. Lints (W120-W125) are reported and the profiles still made.
std::optional<std::string> import_systemd(const SourceSet& sources, uint32_t first, Diagnostics& diags,
                                          const SystemdImportOptions& options = {});

}  // namespace tw::compiler
