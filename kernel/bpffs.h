// SPDX-License-Identifier: Apache-2.0
// The privileged/unprivileged bpffs delegation dance (what systemd's PrivateBPF= does):
//
//   child (new user + mount namespace)          parent (privileged, init user namespace)
//   unshare(CLONE_NEWUSER), map uid/gid 0
//   unshare(CLONE_NEWNS), make / private
//   fsopen("bpf")  ---------- fs fd ---------->  fsconfig(delegate_*=...)   (needs CAP_SYS_ADMIN
//                                               fsconfig(FSCONFIG_CMD_CREATE) in the init ns)
//                  <--------- ok / errno ------
//   fsmount(), move_mount() onto mount_at
//   openat(mnt_fd, ".") -> fd for BPF_TOKEN_CREATE
//   run body
//
// The superblock belongs to the child's user namespace, which is what BPF_TOKEN_CREATE requires.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "delegation.h"
#include "fd.h"
#include "result.h"

namespace tw::kernel {

struct DelegatedMount {
  UniqueFd mnt_fd;   // O_PATH fd from fsmount()
  UniqueFd root_fd;  // O_RDONLY fd of the bpffs root: what BPF_TOKEN_CREATE accepts
  std::string mounted_at;
};

struct DelegateSpec {
  DelegationMasks masks;
  // Extra fsconfig(FSCONFIG_SET_STRING) options applied after the masks, verbatim (key, value):
  // how tests feed the kernel's parser exact strings.
  std::vector<std::pair<std::string, std::string>> raw_options;
  std::string mount_at;  // e.g. "/sys/fs/bpf"; empty leaves the mount detached
  // The host uid (and gid) the namespace's root maps to. Unset: the caller's. Set: the child
  // drops to it before creating its namespaces, as container managers map container root to an
  // unprivileged host uid (systemd PrivateUsers=, LXD, Incus).
  std::optional<uint32_t> host_uid;
  // Supervise like a service manager: SIGTERM, SIGINT and SIGHUP sent to the caller while the
  // body runs are passed on to it (not those a terminal sends the whole process group: it has
  // them already), and the body is SIGKILLed if the caller dies. Either way it never outlives
  // the caller, which returns its status.
  bool supervise = false;
};

// The exit status the child uses when setup failed (the parent reports the Error instead).
inline constexpr int kDelegateSetupFailed = 125;

// Runs `body` in a child that is root of a fresh user namespace (uid and gid 0 mapped to the
// caller's) and a private mount namespace, with a delegated bpffs. Returns the child's exit
// status (128+signal if killed), or the Error of the first setup step that failed on either side.
// Requires CAP_SYS_ADMIN in the initial user namespace (delegation options are privileged).
Result<int> run_in_delegated_userns(const DelegateSpec& spec,
                                    const std::function<int(DelegatedMount&)>& body);

// The fsconfig() options (key, value) that give exactly these masks.
std::vector<std::pair<std::string, std::string>> delegate_fsconfig_options(
    const DelegationMasks& masks);

}  // namespace tw::kernel
