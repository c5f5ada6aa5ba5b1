// SPDX-License-Identifier: Apache-2.0
#include "errors.h"

#include <fmt/core.h>

#include <cstdio>

namespace tw::tools {

std::string hint_for(const kernel::Error& e) {
  const std::string& op = e.op;
  auto starts = [&](const char* p) { return op.rfind(p, 0) == 0; };
  if (starts("fsconfig(delegate_")) {
    if (e.err == EPERM) return "setting delegate_* options needs CAP_SYS_ADMIN in the initial user namespace: run as root";
    if (e.err == EINVAL) return "the kernel does not know one of the names (`tokenwarden catalogue --target-kernel running` lists this kernel's, or use a hex mask)";
  }
  if (starts("fsconfig(FSCONFIG_CMD_CREATE)") && e.err == EPERM)
    return "creating a bpffs for a user namespace needs CAP_SYS_ADMIN in the initial user namespace: run as root";
  if (starts("unshare(CLONE_NEWUSER)"))
    return "user namespaces are disabled or limited (user.max_user_namespaces, kernel.unprivileged_userns_clone, or a seccomp filter)";
  if (starts("fsopen"))
    return e.err == ENODEV ? "this kernel has no bpffs (CONFIG_BPF_SYSCALL)" : "fsopen needs Linux 5.2+ and may be blocked by seccomp";
  if (starts("move_mount"))
    return "the mount point must exist as a directory inside the new mount namespace";
  if (starts("BPF_TOKEN_CREATE")) {
    switch (e.err) {
      case EOPNOTSUPP: return "tokens cannot be created in the initial user namespace";
      case ENOENT: return "the bpffs delegates nothing: mount it with delegate_* options";
      case EINVAL: return "the fd must be the root directory of a bpffs instance";
      case EPERM: return "the bpffs must belong to the caller's user namespace, and the caller needs CAP_BPF there";
      case EBADF: return "pass an O_RDONLY fd of the bpffs root, not the O_PATH fd from fsmount()";
      default: break;
    }
  }
  if (starts("BPF_") && e.err == EPERM)
    return "not delegated to this token, denied by an LSM, or missing capabilities in the user namespace";
  return {};
}

}  // namespace tw::tools
