// SPDX-License-Identifier: Apache-2.0
// `tokenwarden import incus|lxd INSTANCE.json...`: a strict profile for each container whose
// configuration delegates BPF, from the instance as `incus query /1.0/instances/NAME` (or
// `lxc query` for LXD) prints it, and lints on the delegation at the file's line. The keys are the
// managers' own:
//   Incus: security.bpffs.delegate_cmds, _maps, _progs, _attachs (any one set delegates), and
//          security.bpffs.path, where the bpffs is mounted in the container (default /sys/fs/bpf);
//   LXD:   security.delegate_bpf=true with security.delegate_bpf.cmd_types, .map_types,
//          .prog_types, .attach_types (mounted at /sys/fs/bpf).
// Values are the kernel's names without their prefixes, separated by commas (or colons, as the
// mount option writes them), or `any`. The profile matches the container's cgroup (LXC's
// `lxc.payload.NAME`, with the project's prefix outside the default project) and the bpffs.
#pragma once

#include <optional>
#include <string>

#include "diagnostics.h"
#include "import_systemd.h"
#include "source.h"

namespace tw::compiler {

enum class ContainerManager { incus, lxd };

// The profiles for the instance files already in `sources` (ids `first`..), as policy text;
// nullopt when a file has an error (E040, E041), with nothing generated. Lints (W120 to W125,
// W106) are reported and the profiles still made.
std::optional<std::string> import_container(ContainerManager manager, const SourceSet& sources, uint32_t first,
                                            Diagnostics& diags, const SystemdImportOptions& options = {});

// What a profile granting these delegated types needs beyond them: "CAP_BPF, CAP_NET_ADMIN", and
// why, for the imported profiles' `allow cap` (shared by every importer).
std::pair<std::string, std::string> delegated_capabilities(uint64_t progs, uint64_t maps);

}  // namespace tw::compiler
