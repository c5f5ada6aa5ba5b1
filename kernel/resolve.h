// SPDX-License-Identifier: Apache-2.0
// Turning the paths a policy names into the identities the BPF programs compare: keyed hashes of
// paths (the encoding is in vocab/tw_abi.h), so that a cgroup keeps matching when
// systemd removes and recreates it, an executable when a package manager renames a new file over
// it, and a bpffs by where the creator's namespace mounts it. Device numbers are in the kernel's
// internal encoding (MAJOR << 20 | MINOR), as struct super_block's s_dev holds them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tw::kernel {

inline constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
inline constexpr const char* kMountInfo = "/proc/self/mountinfo";

// SipHash-2-4 with a 64-bit output (libcrypto's EVP_MAC "SIPHASH" with size 8).
uint64_t siphash24(const std::array<uint64_t, 2>& key, std::string_view bytes);

// SipHash-2-4 (64-bit output) of path components, as the programs compute it. The key is the
// generation's secret (tw_settings.path_key).
class PathHasher {
 public:
  static PathHasher random();  // a fresh key from the kernel's random source
  explicit PathHasher(std::array<uint64_t, 2> key) : key_(key) {}
  const std::array<uint64_t, 2>& key() const { return key_; }
  uint64_t hash(const std::vector<std::string>& components) const;

 private:
  std::array<uint64_t, 2> key_;
};

// What the programs compare for one path, and what the operator should know about it.
struct PathIdentity {
  std::optional<std::pair<uint64_t, uint64_t>> id;  // nothing: the value can never match
  std::string warning;  // probably not what was meant ("is a directory, not an executable")
  std::string info;     // worth knowing ("no such cgroup now; it matches once one is created")
};

// `path` is relative to the cgroup2 root ("/system.slice/x.service"): {hash, 0}. It need not
// exist: it matches whichever cgroup has that path when a token is created. Nothing when `root`
// is not the hierarchy's own root (tokenwarden in a cgroup namespace), whose paths differ.
PathIdentity resolve_cgroup(const PathHasher& h, const std::string& path, const std::string& root = kCgroupRoot);
// This mount namespace's mounts (/proc/self/mountinfo): where each shows which directory of
// which filesystem. Read once per load, however many executables a policy names.
struct Mount {
  uint64_t dev = 0;  // kernel encoding
  std::vector<std::string> root, point;  // the directory inside the filesystem; where it is mounted
};
std::vector<Mount> read_mounts(const std::string& mountinfo = kMountInfo);

// {device, hash of the path inside that filesystem}: the file found at that path, through the
// mount table, whatever its inode, so a file renamed over it matches too; a file at that path
// in another mount namespace (a bind mount, a container's root) is somewhere else in some
// filesystem and does not.
PathIdentity resolve_exe(const PathHasher& h, const std::string& path, const std::vector<Mount>& mounts);
// {hash, 0} of a mount point in the creator's mount namespace, which is not this one: the path
// is taken as written.
PathIdentity resolve_bpffs(const PathHasher& h, const std::string& path);

}  // namespace tw::kernel

namespace tw::kernel {

// Where an event's creator was, found after the fact (`audit`, the agent): the path below the
// cgroup2 root of the cgroup with this id (bpf_get_current_cgroup_id), through a kernfs file
// handle, also of a cgroup removed since while its node is still held; nothing once it is gone.
std::optional<std::string> cgroup_path_of_id(uint64_t id, const std::string& root = kCgroupRoot);
// A live process's executable; nothing once it has exited.
std::optional<std::string> exe_of_process(uint32_t tgid);

}  // namespace tw::kernel
