// SPDX-License-Identifier: Apache-2.0
// Paths as the BPF programs compare them: the keyed hash, the executable's place in its
// filesystem through the mount table, and the warnings for paths of the wrong kind.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "kernel/resolve.h"
#include "vocab/catalogue.h"

using namespace tw::kernel;
using namespace tw::vocab;

namespace {

std::array<uint64_t, 2> reference_key() {  // bytes 00..0f, as in the SipHash paper
  std::array<uint64_t, 2> k{};
  unsigned char b[16];
  for (int i = 0; i < 16; ++i) b[i] = static_cast<unsigned char>(i);
  std::memcpy(k.data(), b, sizeof b);
  return k;
}

std::string bytes(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>(i);
  return s;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char t[] = "/tmp/tw-resolve-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("resolve: SipHash-2-4-64 gives the reference vectors") {
  // Appendix A of Aumasson and Bernstein's paper: key 00..0f, messages 00.., 64-bit output.
  CHECK(siphash24(reference_key(), "") == 0x726fdb47dd0e0e31ULL);
  CHECK(siphash24(reference_key(), bytes(8)) == 0x93f5f5799a932462ULL);
  CHECK(siphash24(reference_key(), bytes(15)) == 0xa129ca6149be45e5ULL);
}

TEST_CASE("resolve: a path's hash is its components', keyed") {
  PathHasher h(reference_key());
  // Injective: a component boundary cannot move; the key changes everything.
  CHECK(h.hash({"ab", "c"}) != h.hash({"a", "bc"}));
  CHECK(h.hash({"abcdefgh"}) != h.hash({"abcdefg"}));
  CHECK(h.hash({"x"}) == h.hash({"x"}));
  CHECK(PathHasher({1, 2}).hash({"x"}) != h.hash({"x"}));
  // The encoding: each component's length (u64, little-endian), its bytes, NULs to a multiple of 8.
  std::string enc = std::string("\x02\0\0\0\0\0\0\0", 8) + std::string("ab\0\0\0\0\0\0", 8);
  CHECK(h.hash({"ab"}) == siphash24(reference_key(), enc));
}

TEST_CASE("resolve: path components") {
  CHECK(path_components("/")->empty());
  CHECK(*path_components("/a/b") == std::vector<std::string>{"a", "b"});
  CHECK(*path_components("/a/b/") == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(path_components("a/b"));
  CHECK_FALSE(path_components("/a//b"));
  CHECK_FALSE(path_components("/a/../b"));
  CHECK_FALSE(path_components("/./b"));
}

TEST_CASE("resolve: an executable is its place in its filesystem, found through the mount table") {
  TempDir t;
  std::string info = t.path / "mountinfo";
  std::ofstream(info) << "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                         "2 1 8:2 / /usr rw - ext4 /dev/sda2 rw\n"
                         "3 1 8:1 /home/x/bin /srv/my\\040bin rw - ext4 /dev/sda1 rw\n"
                         "4 1 0:40 / /srv/over rw - tmpfs none rw\n"
                         "5 1 0:41 / /srv/over rw - tmpfs none rw\n";
  PathHasher h(reference_key());
  auto mounts = read_mounts(info);
  REQUIRE(mounts.size() == 5);
  CHECK(mounts[2].point == std::vector<std::string>{"srv", "my bin"});  // \040 is a space
  auto usr = resolve_exe(h, "/usr/lib/tw-nowhere/agent", mounts);
  REQUIRE(usr.id);
  CHECK(usr.id->first == ((8u << 20) | 2));
  CHECK(usr.id->second == h.hash({"agent", "tw-nowhere", "lib"}));  // leaf first, inside /usr's filesystem
  CHECK(usr.warning.empty());
  CHECK(usr.info.find("no such file") != std::string::npos);
  // A bind mount shows a directory of another place: the file is that place's.
  auto bound = resolve_exe(h, "/srv/my bin/tool", mounts);
  REQUIRE(bound.id);
  CHECK(bound.id->first == ((8u << 20) | 1));
  CHECK(bound.id->second == h.hash({"tool", "bin", "x", "home"}));
  // Mounted over: the last mount at a point is the one on top.
  auto over = resolve_exe(h, "/srv/over/x", mounts);
  REQUIRE(over.id);
  CHECK(over.id->first == 41);
}

TEST_CASE("resolve: paths of the wrong kind are told apart from paths that do not exist") {
  TempDir t;
  PathHasher h(reference_key());
  auto mounts = read_mounts();
  auto dir = resolve_exe(h, t.path.string(), mounts);
  CHECK_FALSE(dir.id);
  CHECK(dir.warning.find("is a directory, not an executable file") != std::string::npos);

  std::filesystem::path file = t.path / "tool";
  std::ofstream(file) << "#!/bin/sh\n";
  std::filesystem::permissions(file, std::filesystem::perms::owner_all);
  std::filesystem::create_symlink(file, t.path / "link");
  auto link = resolve_exe(h, (t.path / "link").string(), mounts);
  REQUIRE(link.id);
  CHECK(link.id == resolve_exe(h, file.string(), mounts).id);
  CHECK(link.warning.find("through a symbolic link") != std::string::npos);
  CHECK(resolve_exe(h, file.string(), mounts).warning.empty());

  auto not_bpffs = resolve_bpffs(h, t.path.string());
  REQUIRE(not_bpffs.id);  // it may be a bpffs in the creator's namespace
  CHECK(not_bpffs.warning.find("is not a bpffs") != std::string::npos);
  auto elsewhere = resolve_bpffs(h, "/run/tw-nowhere/bpf");
  REQUIRE(elsewhere.id);
  CHECK(elsewhere.id->first == h.hash({"bpf", "tw-nowhere", "run"}));
  CHECK(elsewhere.warning.empty());
  CHECK(resolve_bpffs(h, "/a/../b").warning.find("never matches") != std::string::npos);

  // A cgroup root that is not the hierarchy's root: nothing matches, and the warning says why.
  auto ns = resolve_cgroup(h, "/system.slice", t.path.string());
  CHECK_FALSE(ns.id);
  CHECK(ns.warning.find("not the cgroup2 hierarchy's root") != std::string::npos);
}
