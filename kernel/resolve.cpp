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
  if (path.empty() || path[0] != '/') return std::nullopt;
  for (size_t at = 1; at < path.size();) {
    size_t end = path.find('/', at);
    std::string_view part = std::string_view(path).substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (part.empty() || part == "." || part == "..") return std::nullopt;
    at = end == std::string::npos ? path.size() : end + 1;
  }
  struct stat root_st {};
  constexpr ino_t kRootCgroupId = 1;  // the hierarchy's root cgroup
  if (stat(root.c_str(), &root_st) != 0 || root_st.st_ino != kRootCgroupId) return std::nullopt;
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
