// Turning the paths a policy names into the identities the BPF programs compare: an executable's
// device and inode, a cgroup v2 id, a bpffs instance's device. Device numbers are in the kernel's
// internal encoding (MAJOR << 20 | MINOR), as struct super_block's s_dev holds them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace tw::kernel {

inline constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

std::optional<std::pair<uint64_t, uint64_t>> resolve_exe(const std::string& path);
// `path` is relative to the cgroup2 root ("/system.slice/x.service") and canonical (no `.`,
// `..` or empty components). Nothing when it is not a cgroup, or when `root` is not the
// hierarchy's own root (tokenwarden in a cgroup namespace): the BPF programs find `under`
// cgroups by their level below the true root, which is the number of components of `path` only
// when `root` shows that root.
std::optional<uint64_t> resolve_cgroup(const std::string& path, const std::string& root = kCgroupRoot);
// The path must be the root of a bpffs mount.
std::optional<uint64_t> resolve_bpffs(const std::string& path);
uint64_t kernel_dev_encoding(uint64_t st_dev);

}  // namespace tw::kernel
