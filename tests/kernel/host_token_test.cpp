// SPDX-License-Identifier: Apache-2.0
// Host integration tests: real bpffs delegation, real tokens, this machine's kernel. Need root.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "kernel/bpf.h"
#include "kernel/btf.h"
#include "kernel/delegation.h"
#include "kernel/resolve.h"
#include "support.h"
#include "vocab/catalogue.h"
#include "vocab/names.h"

using namespace tw::kernel;
using namespace tw::vocab;
using tw::test::in_delegated_userns;
using tw::test::outcome;
using tw::test::Record;

namespace {

// The running kernel's enum tables: what the kernel parses delegate options against.
const EnumTable& kernel_table(EnumKind kind) {
  static std::map<EnumKind, EnumTable> tables = [] {
    std::map<EnumKind, EnumTable> t;
    auto b = KernelBtf::load();
    for (EnumKind k : kAllKinds) t[k] = b ? b->enum_table(k).value_or(builtin_table(k)) : builtin_table(k);
    return t;
  }();
  return tables.at(kind);
}

// The bpffs options line of the mount at `where`, read inside the namespace.
std::string mount_options_at(const std::string& where) {
  std::ifstream in("/proc/self/mounts");
  std::string dev, dir, type, opts, line;
  std::string found;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    ls >> dev >> dir >> type >> opts;
    if (dir == where && type == "bpf") found = opts;  // the last mount on top wins
  }
  return found;
}

std::string option_value(const std::string& opts, const std::string& key) {
  std::istringstream ss(opts);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item.rfind(key + "=", 0) == 0) return item.substr(key.size() + 1);
  return "";
}

// Sets up a delegated bpffs from spec; returns {errno of the setup, the mount's options}.
std::pair<int, std::string> kernel_outcome(const DelegateSpec& spec) {
  auto o = tw::test::try_in_delegated_userns(spec, [](DelegatedMount& m, const Record& rec) {
    rec("opts", mount_options_at(m.mounted_at));
  });
  if (!o) return {o.error().err, ""};
  return {0, o->get("opts")};
}

DelegateSpec spec_of(const std::string& cmds, const std::string& maps = "",
                     const std::string& progs = "", const std::string& attachs = "") {
  DelegateSpec s;
  s.mount_at = "/sys/fs/bpf";
  s.masks.cmds = parse_user_list(builtin_table(EnumKind::cmd), cmds).mask;
  s.masks.maps = parse_user_list(builtin_table(EnumKind::map), maps).mask;
  s.masks.progs = parse_user_list(builtin_table(EnumKind::prog), progs).mask;
  s.masks.attachs = parse_user_list(builtin_table(EnumKind::attach), attachs).mask;
  return s;
}

}  // namespace

TEST_CASE("host: a delegated token creates the delegated map type and nothing else") {
  tw::test::require_root();
  auto o = in_delegated_userns(spec_of("map_create", "array"), [](DelegatedMount& m, const Record& rec) {
    auto token = token_create(m.root_fd.get());
    rec("token", outcome(token));
    if (!token) return;
    rec("array_with_token", outcome(map_create({.type = BPF_MAP_TYPE_ARRAY}, token->get())));
    rec("hash_with_token", outcome(map_create({.type = BPF_MAP_TYPE_HASH, .max_entries = 4}, token->get())));
    rec("array_without_token", outcome(map_create({.type = BPF_MAP_TYPE_ARRAY})));
    rec("token_from_mnt_fd", outcome(token_create(m.mnt_fd.get())));
  });
  CHECK(o.status == 0);
  CHECK(o.get("token") == "ok");
  CHECK(o.get("array_with_token") == "ok");
  CHECK(o.get("hash_with_token") == "EPERM");  // type not delegated: token dropped, EPERM
  CHECK(o.get("array_without_token") == "EPERM");
  CHECK(o.get("token_from_mnt_fd") == "EBADF");  // the O_PATH fd from fsmount() is refused
}

TEST_CASE("host: program and BTF loads with a token, and the attach-type-0 rule") {
  tw::test::require_root();
  auto o = in_delegated_userns(spec_of("prog_load,btf_load", "", "socket_filter", "cgroup_inet_ingress"),
                               [](DelegatedMount& m, const Record& rec) {
    auto token = token_create(m.root_fd.get());
    rec("token", outcome(token));
    if (!token) return;
    rec("socket_filter", outcome(prog_load({.type = BPF_PROG_TYPE_SOCKET_FILTER}, token->get())));
    rec("kprobe", outcome(prog_load({.type = BPF_PROG_TYPE_KPROBE}, token->get())));
    rec("btf", outcome(btf_load(minimal_btf(), token->get())));
    rec("btf_without_token", outcome(btf_load(minimal_btf())));
    rec("map_not_delegated", outcome(map_create({.type = BPF_MAP_TYPE_ARRAY}, token->get())));
  });
  CHECK(o.get("token") == "ok");
  CHECK(o.get("socket_filter") == "ok");
  CHECK(o.get("kprobe") == "EPERM");
  CHECK(o.get("btf") == "ok");
  CHECK(o.get("btf_without_token") == "EPERM");
  CHECK(o.get("map_not_delegated") == "EPERM");

  // Same program type delegated, but attach type 0 (cgroup_inet_ingress) is not.
  auto a = in_delegated_userns(spec_of("prog_load", "", "socket_filter", "xdp"),
                               [](DelegatedMount& m, const Record& rec) {
    auto token = token_create(m.root_fd.get());
    if (token) rec("socket_filter", outcome(prog_load({.type = BPF_PROG_TYPE_SOCKET_FILTER}, token->get())));
  });
  CHECK(a.get("socket_filter") == "EPERM");
}

TEST_CASE("host: /proc/mounts, fdinfo and bpf_token_info read back what was asked") {
  tw::test::require_root();
  DelegateSpec spec = spec_of("map_create,prog_load,btf_load", "hash,array,queue",
                              "kprobe,xdp,socket_filter", "xdp,cgroup_inet_ingress");
  spec.masks.progs |= 1ULL << 40;  // a bit no program type has: printed as hex
  auto o = in_delegated_userns(spec, [](DelegatedMount& m, const Record& rec) {
    rec("opts", mount_options_at(m.mounted_at));
    auto token = token_create(m.root_fd.get());
    if (!token) return;
    auto info = fdinfo(token->get());
    for (const char* k : {"allowed_cmds", "allowed_maps", "allowed_progs", "allowed_attachs"})
      rec(std::string("fdinfo.") + k, (*info)[k]);
    if (auto ti = token_info(token->get())) {
      rec("info.cmds", fmt::format("{:#x}", ti->allowed_cmds));
      rec("info.maps", fmt::format("{:#x}", ti->allowed_maps));
      rec("info.progs", fmt::format("{:#x}", ti->allowed_progs));
      rec("info.attachs", fmt::format("{:#x}", ti->allowed_attachs));
    } else {
      rec("info", outcome(ti));
    }
  });
  std::string opts = o.get("opts");
  INFO("mount options: " << opts);
  for (EnumKind kind : kAllKinds) {
    std::string key = fmt::format("delegate_{}", option_suffix(kind));
    CHECK(option_value(opts, key) == format_proc_option(kernel_table(kind), spec.masks.of(kind)));
  }
  CHECK(option_value(opts, "delegate_cmds") == "map_create:prog_load:btf_load");
  CHECK(option_value(opts, "delegate_maps") == "hash:array:queue");
  CHECK(option_value(opts, "delegate_progs") == "socket_filter:kprobe:xdp");  // 1<<40 >= __MAX: dropped
  DelegationMasks back = parse_proc_mount_options(opts);
  CHECK(back.cmds == spec.masks.cmds);
  CHECK(back.maps == spec.masks.maps);
  CHECK(back.attachs == spec.masks.attachs);

  CHECK(o.get("fdinfo.allowed_cmds") == fmt::format("{:#x}", spec.masks.cmds));
  CHECK(o.get("fdinfo.allowed_maps") == fmt::format("{:#x}", spec.masks.maps));
  CHECK(o.get("fdinfo.allowed_progs") == fmt::format("{:#x}", spec.masks.progs));
  if (o.values.count("info.cmds")) {  // Linux 6.17+
    CHECK(o.get("info.cmds") == fmt::format("{:#x}", spec.masks.cmds));
    CHECK(o.get("info.progs") == fmt::format("{:#x}", spec.masks.progs));  // raw: keeps bit 40
    CHECK(o.get("info.attachs") == fmt::format("{:#x}", spec.masks.attachs));
  }
}

TEST_CASE("host: our option parser agrees with the kernel's on every quirk") {
  tw::test::require_root();
  struct Case {
    std::vector<std::string> values;  // one fsconfig(delegate_cmds) call per value
  };
  const std::vector<Case> cases = {
      {{"map_create:0x20"}},            // number overwrites: only prog_load
      {{"0x20:map_create"}},            // both
      {{"MAP_CREATE:Prog_Load"}},       // case-insensitive names
      {{"any"}},                        // all 64 bits
      {{"map_create", "prog_load"}},    // repeated option ORs
      {{"prog_run"}},                   // alias: prints as prog_test_run
      {{"010"}},                        // octal
      {{"bogus"}},                      // EINVAL
      {{"ANY"}},                        // 'any' is case-sensitive: EINVAL
      {{"map_create:"}},                // empty item: EINVAL
      {{"0x"}},                         // EINVAL
      {{"0x1ffffffffffffffff"}},        // ERANGE
  };
  for (const auto& c : cases) {
    CAPTURE(fmt::format("{}", fmt::join(c.values, " then ")));
    // Ours.
    uint64_t expect_mask = 0;
    int expect_err = 0;
    for (const auto& v : c.values) {
      auto r = parse_kernel_option(kernel_table(EnumKind::cmd), v);
      if (!r.ok()) {
        expect_err = r.errors[0].err;
        break;
      }
      expect_mask |= r.mask;
    }
    // The kernel's: the errno of fsconfig(), or the options /proc/mounts shows.
    DelegateSpec spec;
    spec.mount_at = "/sys/fs/bpf";
    for (const auto& v : c.values) spec.raw_options.emplace_back("delegate_cmds", v);
    auto [kernel_err, kernel_opts] = kernel_outcome(spec);
    CHECK(errno_name(kernel_err) == errno_name(expect_err));
    if (!kernel_err && !expect_err)
      CHECK(option_value(kernel_opts, "delegate_cmds") ==
            format_proc_option(kernel_table(EnumKind::cmd), expect_mask));
  }
}

TEST_CASE("host: pin, get and unpin a token-backed map in the delegated bpffs") {
  tw::test::require_root();
  auto o = in_delegated_userns(spec_of("map_create", "array"), [](DelegatedMount& m, const Record& rec) {
    auto token = token_create(m.root_fd.get());
    if (!token) return;
    auto map = map_create({.type = BPF_MAP_TYPE_ARRAY, .name = "tw_pin"}, token->get());
    if (!map) return;
    std::string path = m.mounted_at + "/tw_pin";
    rec("pin", outcome(obj_pin(map->get(), path)));
    auto again = obj_get(path);
    rec("get", outcome(again));
    if (again) {
      bpf_map_info a{}, b{};
      __u32 la = sizeof a, lb = sizeof b;
      bpf_obj_get_info_by_fd(map->get(), &a, &la);
      bpf_obj_get_info_by_fd(again->get(), &b, &lb);
      rec("same_map", a.id == b.id && a.id != 0 ? "yes" : "no");
    }
    rec("unpin", outcome(unpin(path)));
    rec("get_after_unpin", outcome(obj_get(path)));
    rec("unpin_twice", outcome(unpin(path)));
  });
  CHECK(o.get("pin") == "ok");
  CHECK(o.get("get") == "ok");
  CHECK(o.get("same_map") == "yes");
  CHECK(o.get("unpin") == "ok");
  CHECK(o.get("get_after_unpin") == "ENOENT");
  CHECK(o.get("unpin_twice") == "ENOENT");
}

TEST_CASE("host: the built-in catalogue matches the running kernel's BTF") {
  auto b = KernelBtf::load();
  tw::test::require(b.ok(), "no /sys/kernel/btf/vmlinux");
  for (EnumKind kind : kAllKinds) {
    auto kt = b->enum_table(kind);
    REQUIRE(kt.has_value());
    const EnumTable& ours = builtin_table(kind);
    // Every name both know has the same value, and shared names keep the same order.
    std::vector<std::string> shared_kernel, shared_ours;
    for (const auto& e : kt->entries) {
      if (auto v = ours.find(e.name)) {
        CHECK_MESSAGE(*v == e.value, e.name);
        shared_kernel.push_back(e.name);
      }
    }
    for (const auto& e : ours.entries)
      if (kt->find(e.name)) shared_ours.push_back(e.name);
    CHECK(shared_kernel == shared_ours);
    CHECK(shared_kernel.size() >= ours.entries.size() * 9 / 10);
  }
}

TEST_CASE("host: token creation errors the kernel documents") {
  tw::test::require_root();
  // Nothing delegated: ENOENT.
  auto none = in_delegated_userns(DelegateSpec{.mount_at = "/sys/fs/bpf"}, [](DelegatedMount& m, const Record& rec) {
    rec("token", outcome(token_create(m.root_fd.get())));
  });
  CHECK(none.get("token") == "ENOENT");
  // Not a bpffs root: EINVAL.
  auto tmp = in_delegated_userns(spec_of("map_create"), [](DelegatedMount&, const Record& rec) {
    UniqueFd fd(open("/tmp", O_RDONLY | O_DIRECTORY));
    rec("token", outcome(token_create(fd.get())));
  });
  CHECK(tmp.get("token") == "EINVAL");
  // Unknown name at fsconfig: EINVAL reported as a setup error naming the option.
  auto bad = run_in_delegated_userns({.raw_options = {{"delegate_maps", "hashh"}}},
                                     [](DelegatedMount&) { return 0; });
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().op == "fsconfig(delegate_maps)");
  CHECK(bad.error().err == EINVAL);
  CHECK(bad.error().detail == "hashh");
}

TEST_CASE("host: an event's cgroup id resolves to its path, also just after the cgroup is removed") {
  struct statfs fs {};
  if (statfs("/sys/fs/cgroup", &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    MESSAGE("skipped: /sys/fs/cgroup is not cgroup2 here (the system VM resolves its units' cgroups, run.sh 8c)");
    return;
  }
  std::string dir = fmt::format("/sys/fs/cgroup/tw-resolve-test-{}", getpid());
  if (mkdir(dir.c_str(), 0755) != 0) {
    MESSAGE("cannot make a cgroup here: " << std::strerror(errno));
    return;
  }
  struct stat st {};
  REQUIRE(stat(dir.c_str(), &st) == 0);
  // On cgroup2 a cgroup's id (bpf_get_current_cgroup_id) is its directory's inode number.
  auto path = tw::kernel::cgroup_path_of_id(st.st_ino);
  CHECK(path == dir.substr(std::string("/sys/fs/cgroup").size()));
  int held = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(rmdir(dir.c_str()) == 0);
  auto removed = tw::kernel::cgroup_path_of_id(st.st_ino);
  CHECK((!removed || *removed == path));  // its node held open: where it was, never another path
  close(held);
  CHECK_FALSE(tw::kernel::cgroup_path_of_id(~0ULL >> 1));
  CHECK(tw::kernel::exe_of_process(static_cast<uint32_t>(getpid())).has_value());
}
