// SPDX-License-Identifier: Apache-2.0
#include "resolve.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "fd.h"
#include "vocab/catalogue.h"
#include "vocab/tw_abi.h"

namespace tw::kernel {

namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;
constexpr long kCgroup2Magic = 0x63677270;

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += "/" + p;
  return s.empty() ? "/" : s;
}

// /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool octal = true;
      for (size_t k = 1; k <= 3; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7') octal = false;
        else v = v * 8 + (s[i + k] - '0');
      }
      if (octal) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool starts_with(const std::vector<std::string>& v, const std::vector<std::string>& prefix) {
  return prefix.size() <= v.size() && std::equal(prefix.begin(), prefix.end(), v.begin());
}

std::optional<std::vector<std::string>> checked_components(const std::string& path, PathIdentity& out) {
  auto parts = vocab::path_components(path);
  if (!parts) {
    out.warning = "is not an absolute path without `.`, `..` or empty components; that value never matches";
    return std::nullopt;
  }
  if (parts->size() > TW_PATH_DEPTH) {
    out.warning = fmt::format("has {} components; the BPF programs compare paths of at most {}; that value never matches",
                              parts->size(), TW_PATH_DEPTH);
    return std::nullopt;
  }
  for (const auto& p : *parts)
    if (p.size() >= TW_NAME_LEN) {
      out.warning = "has a component longer than NAME_MAX; that value never matches";
      return std::nullopt;
    }
  return parts;
}

}  // namespace

std::vector<Mount> read_mounts(const std::string& file) {
  std::vector<Mount> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, devs, root, point;
    if (!(f >> id >> parent >> devs >> root >> point)) continue;
    unsigned maj = 0, min = 0;
    if (std::sscanf(devs.c_str(), "%u:%u", &maj, &min) != 2) continue;
    auto r = vocab::path_components(unescape(root));
    auto p = vocab::path_components(unescape(point));
    if (!r || !p) continue;
    out.push_back({(uint64_t{maj} << 20) | min, std::move(*r), std::move(*p)});
  }
  return out;
}


PathHasher PathHasher::random() {
  std::array<uint64_t, 2> key{};
  if (getrandom(key.data(), sizeof key, 0) != static_cast<ssize_t>(sizeof key))
    throw std::runtime_error(fmt::format("getrandom: {}", std::strerror(errno)));
  return PathHasher(key);
}

uint64_t PathHasher::hash(const std::vector<std::string>& components) const {
  // Each component: its length as a little-endian u64, then its bytes padded to 8 (tw_abi.h).
  std::string buf;
  for (const auto& c : components) {
    uint64_t len = c.size();
    buf.append(reinterpret_cast<const char*>(&len), sizeof len);
    buf += c;
    buf.append((8 - c.size() % 8) % 8, '\0');
  }
  return siphash24(key_, buf);
}

uint64_t siphash24(const std::array<uint64_t, 2>& key_, std::string_view buf) {
  using Mac = std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)>;
  using Ctx = std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)>;
  Mac mac(EVP_MAC_fetch(nullptr, "SIPHASH", nullptr), EVP_MAC_free);
  if (!mac) throw std::runtime_error("libcrypto has no SipHash");
  Ctx ctx(EVP_MAC_CTX_new(mac.get()), EVP_MAC_CTX_free);
  size_t size = sizeof(uint64_t);  // SipHash-2-4-64; libcrypto's default is the 128-bit variant
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
  unsigned char key[16], out[8];
  std::memcpy(key, key_.data(), sizeof key);
  size_t n = 0;
  if (!ctx || !EVP_MAC_init(ctx.get(), key, sizeof key, params) ||
      !EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(buf.data()), buf.size()) ||
      !EVP_MAC_final(ctx.get(), out, &n, sizeof out) || n != sizeof out)
    throw std::runtime_error("SipHash failed");
  uint64_t h;
  std::memcpy(&h, out, sizeof h);
  return h;
}

PathIdentity resolve_cgroup(const PathHasher& h, const std::string& path, const std::string& root) {
  PathIdentity out;
  auto parts = vocab::path_components(path);
  if (!parts) {
    out.warning = "is not a canonical cgroup path; that value never matches";
    return out;
  }
  struct stat root_st {};
  constexpr ino_t kRootCgroupId = 1;  // the hierarchy's root cgroup
  if (stat(root.c_str(), &root_st) != 0 || root_st.st_ino != kRootCgroupId) {
    out.warning = fmt::format("{} is not the cgroup2 hierarchy's root here (a cgroup namespace?), so cgroup paths "
                              "cannot be told apart; that value never matches", root);
    return out;
  }
  out.id = std::make_pair(h.hash(*parts), uint64_t{0});
  std::string full = root + (path == "/" ? "" : path);
  struct statfs fs {};
  struct stat st {};
  if (lstat(full.c_str(), &st) != 0)
    out.info = "no such cgroup now; it matches any cgroup created at that path";
  else if (statfs(full.c_str(), &fs) != 0 || fs.f_type != kCgroup2Magic || !S_ISDIR(st.st_mode))
    out.warning = fmt::format("{} exists but is not a cgroup2 directory; the value matches a cgroup at that path only",
                              full);
  return out;
}

PathIdentity resolve_exe(const PathHasher& h, const std::string& path, const std::vector<Mount>& mounts) {
  PathIdentity out;
  if (!checked_components(path, out)) return out;
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  if (ec) canonical = path;
  struct stat st {};
  bool exists = stat(canonical.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    out.warning = fmt::format("exists but is {}, not an executable file; that value never matches",
                              S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
    return out;
  }
  auto parts = checked_components(canonical.string(), out);
  if (!parts) return out;
  // The mount that holds the path: the longest mount point above it, the last one of equals.
  const Mount* best = nullptr;
  for (const auto& m : mounts)
    if (starts_with(*parts, m.point) && (!best || m.point.size() >= best->point.size())) best = &m;
  if (!best) {
    out.warning = "no mount of this mount namespace holds it; that value never matches";
    return out;
  }
  std::vector<std::string> in_fs = best->root;
  in_fs.insert(in_fs.end(), parts->begin() + static_cast<long>(best->point.size()), parts->end());
  if (in_fs.size() > TW_PATH_DEPTH) {
    out.warning = fmt::format("is {} inside its filesystem, deeper than the {} components the BPF programs compare; "
                              "that value never matches", join(in_fs), TW_PATH_DEPTH);
    return out;
  }
  std::vector<std::string> leaf_first(in_fs.rbegin(), in_fs.rend());
  out.id = std::make_pair(best->dev, h.hash(leaf_first));
  if (canonical != std::filesystem::path(path))
    out.warning = fmt::format("resolves to {} through a symbolic link; tokens match {}, and a later change of the "
                              "link is not followed until the next load", canonical.string(), canonical.string());
  else if (!exists)
    out.info = "no such file now; it matches the file installed at that path later";
  else if (!(st.st_mode & 0111))
    out.warning = "exists but nobody may execute it";
  return out;
}

PathIdentity resolve_bpffs(const PathHasher& h, const std::string& path) {
  PathIdentity out;
  auto parts = checked_components(path, out);
  if (!parts) return out;
  std::vector<std::string> leaf_first(parts->rbegin(), parts->rend());
  out.id = std::make_pair(h.hash(leaf_first), uint64_t{0});
  struct statfs fs {};
  if (statfs(path.c_str(), &fs) == 0 && fs.f_type != kBpfFsMagic)
    out.warning = "exists here but is not a bpffs; the value matches a token whose bpffs a creator's mount namespace "
                  "mounts there";
  return out;
}

}  // namespace tw::kernel

namespace tw::kernel {

std::optional<std::string> cgroup_path_of_id(uint64_t id, const std::string& root) {
  // A cgroup2 file handle is the kernfs node id (FILEID_KERNFS), which is the cgroup id.
  constexpr int kFileIdKernfs = 0xfe;
  UniqueFd mount(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!mount.valid()) return std::nullopt;
  alignas(file_handle) unsigned char buf[sizeof(file_handle) + sizeof(uint64_t)] = {};
  auto* handle = reinterpret_cast<file_handle*>(buf);
  handle->handle_bytes = sizeof(uint64_t);
  handle->handle_type = kFileIdKernfs;
  std::memcpy(buf + sizeof(file_handle), &id, sizeof id);
  UniqueFd dir(::open_by_handle_at(mount.get(), handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return std::nullopt;
  std::error_code ec;
  auto where = std::filesystem::read_symlink(fmt::format("/proc/self/fd/{}", dir.get()), ec).string();
  // A cgroup removed since (a failed service's, at once) still has a node while something holds
  // it: its path is where it was.
  constexpr std::string_view kDeleted = " (deleted)";
  if (where.ends_with(kDeleted)) where.resize(where.size() - kDeleted.size());
  if (ec || where.rfind(root, 0) != 0) return std::nullopt;
  std::string below = where.substr(root.size());
  return below.empty() ? "/" : below;
}

std::optional<std::string> exe_of_process(uint32_t tgid) {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink(fmt::format("/proc/{}/exe", tgid), ec).string();
  if (ec || exe.empty() || exe.ends_with(" (deleted)")) return std::nullopt;
  return exe;
}

}  // namespace tw::kernel
