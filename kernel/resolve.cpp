#include "resolve.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

namespace tw::kernel {

namespace {
constexpr long kBpfFsMagic = 0xcafe4a11;
constexpr long kCgroup2Magic = 0x63677270;
}  // namespace

uint64_t kernel_dev_encoding(uint64_t st_dev) {
  return (static_cast<uint64_t>(major(st_dev)) << 20) | minor(st_dev);
}

std::optional<std::pair<uint64_t, uint64_t>> resolve_exe(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return std::make_pair(kernel_dev_encoding(st.st_dev), static_cast<uint64_t>(st.st_ino));
}

std::optional<uint64_t> resolve_cgroup(const std::string& path, const std::string& root) {
  std::string full = root + (path == "/" ? "" : path);
  struct statfs fs {};
  struct stat st {};
  if (statfs(full.c_str(), &fs) != 0 || fs.f_type != kCgroup2Magic) return std::nullopt;
  if (stat(full.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_ino);  // a cgroup v2 id is its directory's inode number
}

std::optional<uint64_t> resolve_bpffs(const std::string& path) {
  struct statfs fs {};
  struct stat st {};
  if (statfs(path.c_str(), &fs) != 0 || fs.f_type != kBpfFsMagic) return std::nullopt;
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return kernel_dev_encoding(st.st_dev);
}

}  // namespace tw::kernel
