// SPDX-License-Identifier: Apache-2.0
#include "enforcer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "tokenwarden.skel.h"

namespace tw::kernel {

namespace {

// Every map the programs own, by the name it is pinned under.
constexpr const char* kMaps[] = {"ctl",          "tokens",       "counters",  "live",      "stats",     "ratelimit",
                                 "events",       "gen_settings", "gen_profiles", "gen_conjs", "gen_index", "gen_scan",
                                 "guard_ids",    "guard_dir",    "objects",      "pool",      "creators"};

// The tables of one generation, each an inner map of an outer ARRAY_OF_MAPS indexed by slot.
enum class Gen { settings, profiles, conjs, index, scan };
constexpr Gen kGens[] = {Gen::settings, Gen::profiles, Gen::conjs, Gen::index, Gen::scan};
constexpr const char* kGenOuter[] = {"gen_settings", "gen_profiles", "gen_conjs", "gen_index", "gen_scan"};
const char* outer_name(Gen g) { return kGenOuter[static_cast<size_t>(g)]; }
// The record each table holds, as tw_abi.h lays it out; the BPF object's templates must agree.
constexpr uint32_t kGenValueSize[] = {sizeof(tw_settings), sizeof(tw_profile), sizeof(tw_conj), sizeof(tw_index_val),
                                      sizeof(uint32_t)};

struct InnerShape {
  bpf_map_type type = BPF_MAP_TYPE_UNSPEC;
  uint32_t key_size = 0, value_size = 0, flags = 0;
};
using InnerShapes = std::array<InnerShape, std::size(kGens)>;

// The inner maps' shapes, as the templates in tokenwarden.bpf.c declare them (`__array(values,
// ...)`): read from the BPF object the skeleton embeds, once, so nothing here re-types them.
const Result<InnerShapes>& inner_shapes() {
  static const Result<InnerShapes> shapes = []() -> Result<InnerShapes> {
    tokenwarden* skel = tokenwarden::open();
    if (!skel) return errno_error("open BPF object");
    InnerShapes out;
    std::string wrong;
    for (Gen g : kGens) {
      bpf_map* outer = bpf_object__find_map_by_name(skel->obj, outer_name(g));
      bpf_map* inner = outer ? bpf_map__inner_map(outer) : nullptr;
      if (!inner) {
        wrong = std::string(outer_name(g)) + " has no inner map template";
        break;
      }
      InnerShape& sh = out[static_cast<size_t>(g)];
      sh = {bpf_map__type(inner), bpf_map__key_size(inner), bpf_map__value_size(inner), bpf_map__map_flags(inner)};
      if (sh.value_size != kGenValueSize[static_cast<size_t>(g)]) {
        wrong = fmt::format("{}'s values are {} bytes in the BPF object, {} in tw_abi.h", outer_name(g), sh.value_size,
                            kGenValueSize[static_cast<size_t>(g)]);
        break;
      }
    }
    tokenwarden::destroy(skel);
    if (!wrong.empty()) return Error{"read BPF object", EINVAL, wrong};
    return out;
  }();
  return shapes;
}

std::string pin_path(const std::string& root, const std::string& name) { return root + "/" + name; }

Result<UniqueFd> create_inner(Gen g, size_t entries) {
  const auto& shapes = inner_shapes();
  if (!shapes) return shapes.error();
  const InnerShape& in = (*shapes)[static_cast<size_t>(g)];
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = in.flags);
  std::string name = std::string("tw_") + (outer_name(g) + 4);
  int fd = bpf_map_create(in.type, name.c_str(), in.key_size, in.value_size,
                          static_cast<uint32_t>(std::max<size_t>(entries, 1)), &opts);
  if (fd < 0) return errno_error("BPF_MAP_CREATE(" + name + ")", std::to_string(entries) + " entries");
  return UniqueFd(fd);
}

Status update(int fd, const void* key, const void* value, const std::string& what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) return errno_error("BPF_MAP_UPDATE_ELEM(" + what + ")");
  return ok_status();
}

// ---- the guard's identities (tokenwarden.bpf.c, "the guard") ----

// A map's max_entries (a table's capacity), 0 when the kernel does not say.
uint32_t max_entries_of(int map) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  return bpf_map_get_info_by_fd(map, &info, &len) == 0 ? info.max_entries : 0;
}

uint32_t object_id(int fd, tw_guard_kind kind) {
  uint32_t len = 0;
  if (kind == TW_GUARD_KIND_MAP) {
    bpf_map_info info{};
    len = sizeof info;
    return bpf_map_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
  }
  if (kind == TW_GUARD_KIND_PROG) {
    bpf_prog_info info{};
    len = sizeof info;
    return bpf_prog_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
  }
  bpf_link_info info{};
  len = sizeof info;
  return bpf_link_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// Records the object behind `fd` in guard_ids; its id.
Result<uint32_t> guard_object(int guard_ids, tw_guard_kind kind, int fd, const std::string& what) {
  tw_guard_id key{static_cast<uint32_t>(kind), object_id(fd, kind)};
  if (key.id == 0) return errno_error("BPF_OBJ_GET_INFO_BY_FD", what);
  uint32_t one = 1;
  if (auto s = update(guard_ids, &key, &one, "guard_ids (" + what + ")"); !s) return s.error();
  return key.id;
}

void unguard_id(int guard_ids, tw_guard_kind kind, uint32_t id) {
  tw_guard_id key{static_cast<uint32_t>(kind), id};
  bpf_map_delete_elem(guard_ids, &key);
}

// Forgets the ids of objects that are gone (a writer killed between guarding a table and linking it).
void prune_guard(int guard_ids) {
  std::vector<tw_guard_id> gone;
  tw_guard_id key{}, next{};
  const tw_guard_id* prev = nullptr;
  while (bpf_map_get_next_key(guard_ids, prev, &next) == 0) {
    key = next;
    prev = &key;
    int fd = key.kind == TW_GUARD_KIND_MAP    ? bpf_map_get_fd_by_id(key.id)
             : key.kind == TW_GUARD_KIND_PROG ? bpf_prog_get_fd_by_id(key.id)
                                              : bpf_link_get_fd_by_id(key.id);
    if (fd >= 0)
      close(fd);
    else if (errno == ENOENT)
      gone.push_back(key);
  }
  for (const auto& k : gone) bpf_map_delete_elem(guard_ids, &k);
}

// The pin directory the inode hooks guard, by the kernel's own encoding of its device.
Status guard_directory(int guard_dir, const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return errno_error("stat", dir);
  tw_guard_dir g{};
  g.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
  g.set = 1;
  g.ino = st.st_ino;
  uint32_t zero = 0;
  return update(guard_dir, &zero, &g, "guard_dir");
}

// `n` entries of a fresh table in one BPF_MAP_UPDATE_BATCH. Injected (TW_FAULT_FAIL_AT=fill-WHAT):
// the kernel refusing the table's second entry, after the first was written.
template <typename K, typename V>
Status fill(int map, const K* keys, const V* values, size_t n, const std::string& what) {
  if (n == 0) return ok_status();
  if (fault_fail("fill-" + what) && n > 1) {
    if (auto s = update(map, keys, values, what); !s) return s;
    return Error{"BPF_MAP_UPDATE_ELEM(" + what + ")", ENOMEM, "injected by TW_FAULT_FAIL_AT"};
  }
  auto count = static_cast<uint32_t>(n);
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
  if (bpf_map_update_batch(map, keys, values, &count, &opts) != 0 || count != n)
    return errno_error("BPF_MAP_UPDATE_BATCH(" + what + ")", fmt::format("{} of {} entries written", count, n));
  return ok_status();
}

struct Removed {
  size_t pins = 0, links = 0;
};

// Removes a pin directory and what is pinned in it (bpffs holds no subdirectories of ours).
// It holds an fd on every link while unpinning and closes them last: the last reference of a link
// dropped through its pin is released from a workqueue (the programs would stay attached for a
// moment after this returns); the last one dropped by close() is released right there.
Removed remove_tree(const std::string& dir) {
  Removed r;
  std::vector<UniqueFd> links;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (n.rfind("link_", 0) == 0) {
        links.emplace_back(bpf_obj_get(pin_path(dir, n).c_str()));
        ++r.links;
      }
      if (unlink(pin_path(dir, n).c_str()) == 0) ++r.pins;
    }
    closedir(d);
  }
  rmdir(dir.c_str());
  return r;  // `links` closes here: the programs are detached
}

// Writers' steps, as fault_point() names them (TW_FAULT_KILL_AT):
//   install: install-staged, install-loaded, install-tables, install-attached, install-maps-pinned,
//            install-links-pinned, install-renamed
//   replace: replace-inner-filled, replace-slot-written, replace-flipped, replace-released
//   remove:  remove-renamed, remove-unpinned

// The directories a writer of `root` works in beside it: "<root>-staging-PID" while a load pins,
// "<root>-removing-PID" while an unload unpins. No dot in the names: bpffs refuses them (EPERM).
std::string side_dir(const std::string& root, const char* what) {
  return root + "-" + what + "-" + std::to_string(getpid());
}

std::string fmt_pid(long pid) {
  return pid > 0 ? "another tokenwarden (pid " + std::to_string(pid) + ")" : "another tokenwarden";
}

std::string fmt_dev_ino(const struct stat& st) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  return buf;
}

// The pid holding an flock on (dev, ino), from /proc/locks ("1: FLOCK ADVISORY WRITE 42 00:1f:7 0 EOF").
long lock_holder(const struct stat& st) {
  std::ifstream in("/proc/locks");
  std::string line;
  std::string want = fmt_dev_ino(st);
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string n, type, advisory, rw, pid, where;
    if (ls >> n >> type >> advisory >> rw >> pid >> where && type == "FLOCK" && where == want) return std::stol(pid);
  }
  return -1;
}

uint64_t fdinfo_memlock(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("memlock:", 0) == 0) return std::stoull(line.substr(8));
  return 0;
}

}  // namespace

void fault_point(const char* step) {
  const char* at = std::getenv("TW_FAULT_KILL_AT");
  if (at && std::strcmp(at, step) == 0) raise(SIGKILL);
}

bool fault_fail(const std::string& step) {
  const char* at = std::getenv("TW_FAULT_FAIL_AT");
  return at && step == at;
}

Result<PinLock> PinLock::acquire(const std::string& pin_root, int wait_ms) {
  // The parent is the one directory that exists whether or not a policy is loaded and that every
  // writer of this root renames into; bpffs supports flock like any file system.
  std::string parent = std::filesystem::path(pin_root).parent_path().string();
  if (parent.empty()) parent = ".";
  UniqueFd fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open", parent + " (the pin root's parent)");
  auto start = std::chrono::steady_clock::now();
  while (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("flock", parent);
    if (std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(wait_ms)) {
      struct stat st {};
      fstat(fd.get(), &st);
      long pid = lock_holder(st);
      return Error{"lock " + parent, EBUSY,
                   fmt::format("{} is loading, replacing or unloading the policy at {}; waited {:.1f} s",
                               fmt_pid(pid), pin_root, wait_ms / 1000.0)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return PinLock(pin_root, std::move(fd));
}

struct Enforcer::Impl {
  std::string root;
  std::map<std::string, UniqueFd> maps;
};

Enforcer::Enforcer() : impl_(std::make_unique<Impl>()) {}
Enforcer::Enforcer(Enforcer&&) noexcept = default;
Enforcer& Enforcer::operator=(Enforcer&&) noexcept = default;
Enforcer::~Enforcer() = default;

int Enforcer::fd(const std::string& map) const {
  auto it = impl_->maps.find(map);
  return it == impl_->maps.end() ? -1 : it->second.get();
}

bool Enforcer::installed(const std::string& pin_root) {
  struct stat st {};
  return stat(pin_path(pin_root, "ctl").c_str(), &st) == 0;
}

Result<uint64_t> Enforcer::write_generation(const vocab::PolicyTables& t, bool log_allowed) {
  uint32_t zero = 0;
  tw_ctl cur{};
  if (bpf_map_lookup_elem(fd("ctl"), &zero, &cur) != 0) return errno_error("BPF_MAP_LOOKUP_ELEM(ctl)");
  uint32_t idle = cur.loaded ? ((cur.slot & 1) ^ 1) : 0;

  // The token table's slots: what the profiles reserve, and the rest shared by all other tokens.
  bpf_map_info tinfo{};
  uint32_t tlen = sizeof tinfo;
  if (bpf_map_get_info_by_fd(fd("tokens"), &tinfo, &tlen) != 0) return errno_error("BPF_OBJ_GET_INFO_BY_FD(tokens)");
  uint64_t reserved = 0;
  for (const auto& p : t.profiles) reserved += p.reserve_tokens;
  if (reserved > tinfo.max_entries)
    return Error{"reserve tokens", ENOSPC,
                 "the profiles reserve " + std::to_string(reserved) + " tokens, more than the token table holds (" +
                     std::to_string(tinfo.max_entries) + "); reserve fewer, or `unload` and `load --token-capacity` more"};

  // Build every table of the new generation completely before anything points at it, each
  // guarded before it is filled.
  prune_guard(fd("guard_ids"));
  std::vector<UniqueFd> inner;
  size_t sizes[] = {1, t.profiles.size(), t.conjs.size(), t.index.size(), t.scan.size()};
  struct Unguard {  // the new tables' ids, forgotten again unless the switch happens
    int guard_ids;
    std::vector<uint32_t> ids;
    bool keep = false;
    ~Unguard() {
      if (!keep)
        for (uint32_t id : ids) unguard_id(guard_ids, TW_GUARD_KIND_MAP, id);
    }
  } unguard{fd("guard_ids"), {}};
  for (Gen g : kGens) {
    // Injected: the kernel refusing a table halfway through a generation (TW_FAULT_FAIL_AT=create-gen_conjs).
    if (fault_fail(std::string("create-") + outer_name(g)))
      return Error{std::string("BPF_MAP_CREATE(tw_") + (outer_name(g) + 4) + ")", ENOMEM, "injected by TW_FAULT_FAIL_AT"};
    auto m = create_inner(g, sizes[static_cast<size_t>(g)]);
    if (!m) return m.error();
    auto id = guard_object(fd("guard_ids"), TW_GUARD_KIND_MAP, m->get(), outer_name(g));
    if (!id) return id.error();
    unguard.ids.push_back(*id);
    inner.push_back(std::move(*m));
  }
  tw_settings settings = t.settings;
  settings.generation = cur.generation + 1;
  settings.shared_tokens = tinfo.max_entries - static_cast<uint32_t>(reserved);
  settings.log_allowed = log_allowed;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  settings.loaded_at_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + static_cast<uint64_t>(now.tv_nsec);
  std::strncpy(settings.policy_name, t.name.c_str(), sizeof settings.policy_name - 1);
  auto in = [&](Gen g) { return inner[static_cast<size_t>(g)].get(); };
  if (auto s = update(in(Gen::settings), &zero, &settings, "settings"); !s) return s.error();
  // Each table in one batched update (a syscall per table, not per entry).
  std::vector<tw_profile> profiles(t.profiles.begin(), t.profiles.end());
  std::vector<uint64_t> profile_ids;
  for (tw_profile& p : profiles) {
    p.rules.log_allowed = log_allowed;
    profile_ids.push_back(p.id);
  }
  if (auto s = fill(in(Gen::profiles), profile_ids.data(), profiles.data(), profiles.size(), "profiles"); !s)
    return s.error();
  std::vector<uint32_t> conj_keys(t.conjs.size()), scan_keys(t.scan.size());
  for (uint32_t i = 0; i < conj_keys.size(); ++i) conj_keys[i] = i;
  for (uint32_t i = 0; i < scan_keys.size(); ++i) scan_keys[i] = i;
  if (auto s = fill(in(Gen::conjs), conj_keys.data(), t.conjs.data(), t.conjs.size(), "conjs"); !s) return s.error();
  std::vector<tw_index_key> index_keys;
  std::vector<tw_index_val> index_vals;
  for (const auto& [k, v] : t.index) {
    index_keys.push_back(k);
    index_vals.push_back(v);
  }
  if (auto s = fill(in(Gen::index), index_keys.data(), index_vals.data(), index_keys.size(), "index"); !s)
    return s.error();
  if (auto s = fill(in(Gen::scan), scan_keys.data(), t.scan.data(), t.scan.size(), "scan"); !s) return s.error();

  fault_point("replace-inner-filled");

  for (Gen g : kGens) {
    int inner_fd = in(g);
    if (auto s = update(fd(outer_name(g)), &idle, &inner_fd, outer_name(g)); !s) return s.error();
  }
  fault_point("replace-slot-written");
  // Compare before the swap: the lock serialises tokenwarden's writers, so `ctl` can only have
  // moved under a writer that ignores it; then nothing is switched (that writer owns the slot).
  tw_ctl now_ctl{};
  if (bpf_map_lookup_elem(fd("ctl"), &zero, &now_ctl) != 0) return errno_error("BPF_MAP_LOOKUP_ELEM(ctl)");
  if (now_ctl.generation != cur.generation || now_ctl.slot != cur.slot || now_ctl.loaded != cur.loaded)
    return Error{"replace", EAGAIN,
                 "the live policy moved from generation " + std::to_string(cur.generation) + " to " +
                     std::to_string(now_ctl.generation) +
                     " during this replace (a writer that does not take the lock); nothing was switched"};
  // The switch: one update, after which every hook reads the new generation.
  tw_ctl next{idle, 1, cur.generation + 1};
  if (auto s = update(fd("ctl"), &zero, &next, "ctl"); !s) return s.error();
  unguard.keep = true;
  fault_point("replace-flipped");
  // Release the old generation. The kernel ends each delete from an array of maps with
  // synchronize_rcu(), so when the first returns no program still decides with the old tables
  // (and it frees them only after that grace period).
  if (cur.loaded) release_slot(cur.slot & 1);
  fault_point("replace-released");
  return next.generation;
}

void Enforcer::release_slot(uint32_t slot) {
  for (Gen g : kGens) {
    uint32_t id = 0;
    if (bpf_map_lookup_elem(fd(outer_name(g)), &slot, &id) == 0) unguard_id(fd("guard_ids"), TW_GUARD_KIND_MAP, id);
    bpf_map_delete_elem(fd(outer_name(g)), &slot);
  }
}

std::vector<std::string> Enforcer::clear_idle_slot() {
  std::vector<std::string> cleaned;
  uint32_t zero = 0;
  tw_ctl cur{};
  if (bpf_map_lookup_elem(fd("ctl"), &zero, &cur) != 0 || !cur.loaded) return cleaned;
  uint32_t idle = (cur.slot & 1) ^ 1;
  size_t held = 0;
  for (Gen g : kGens) {
    uint32_t id = 0;
    if (bpf_map_lookup_elem(fd(outer_name(g)), &idle, &id) == 0) ++held;
  }
  if (held == 0) return cleaned;
  // A replace fills the idle slot and empties the old one after the switch: tables left there
  // are a generation that a killed replace never switched to (or one it had switched away from).
  release_slot(idle);
  cleaned.push_back("cleared " + std::to_string(held) + " table" + (held == 1 ? "" : "s") +
                    " from the idle slot: an interrupted replace had left them (the live policy was not affected)");
  return cleaned;
}

std::vector<std::string> Enforcer::clean_stale(const PinLock& lock) {
  std::vector<std::string> cleaned;
  const std::string& root = lock.pin_root();
  std::filesystem::path rp(root);
  std::string parent = rp.parent_path().string(), base = rp.filename().string();
  std::vector<std::string> stale;
  if (DIR* d = opendir(parent.empty() ? "." : parent.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      for (const char* what : {"-staging-", "-removing-"})
        if (n.rfind(base + what, 0) == 0) stale.push_back(n);
    }
    closedir(d);
  }
  for (const auto& n : stale) {
    // Holding the lock, no live writer is using it: whoever made it was killed.
    std::string dir = (std::filesystem::path(parent) / n).string();
    bool staging = n.find("-staging-") != std::string::npos;
    std::string pid = n.substr(n.rfind('-') + 1);
    Removed r = remove_tree(dir);
    cleaned.push_back("removed " + dir + ", left by " + (staging ? "a load" : "an unload") + " (pid " + pid +
                      ") that was killed: " + std::to_string(r.pins) + " pins" +
                      (r.links ? ", " + std::to_string(r.links) + " of them links whose programs are now detached"
                               : ""));
  }
  if (installed(root))
    if (auto e = open(root)) {
      auto idle = e->clear_idle_slot();
      cleaned.insert(cleaned.end(), idle.begin(), idle.end());
    }
  return cleaned;
}

Result<Enforcer> Enforcer::install(const vocab::PolicyTables& tables, const EnforcerOptions& o, const PinLock& lock) {
  if (lock.pin_root() != o.pin_root) return Error{"install", EINVAL, "the lock is for " + lock.pin_root()};
  if (installed(o.pin_root))
    return Error{"install", EEXIST, o.pin_root + " exists: a policy is loaded (replace it, or unload first)"};
  // The staging directory for the pins, made before anything is loaded.
  std::string staging = side_dir(o.pin_root, "staging");
  remove_tree(staging);
  if (mkdir(staging.c_str(), 0700) != 0) return errno_error("mkdir", staging);
  fault_point("install-staged");
  struct StagingGuard {
    std::string dir;
    bool keep = false;
    ~StagingGuard() {
      if (!keep) remove_tree(dir);
    }
  } staging_guard{staging};

  tokenwarden* skel = tokenwarden::open();
  if (!skel) return errno_error("open BPF object");
  struct SkelGuard {
    tokenwarden* s;
    ~SkelGuard() { tokenwarden::destroy(s); }
  } guard{skel};

  skel->rodata->events_per_sec = o.events_per_sec;
  bpf_map__set_max_entries(skel->maps.tokens, o.token_capacity);
  const uint32_t counter_capacity =
      o.counter_capacity ? o.counter_capacity : std::max<uint32_t>(65536, static_cast<uint32_t>(tables.profiles.size() * 2 + 1));
  bpf_map__set_max_entries(skel->maps.counters, counter_capacity);
  bpf_map__set_max_entries(skel->maps.live, counter_capacity);
  bpf_map__set_max_entries(skel->maps.objects, o.object_capacity);
  bpf_map__set_max_entries(skel->maps.creators, o.creator_capacity);
  if (int err = tokenwarden::load(skel)) return Error{"load BPF LSM programs", -err, "tokenwarden.bpf.o"};
  fault_point("install-loaded");

  Enforcer e;
  e.impl_->root = o.pin_root;
  for (const char* name : kMaps) {
    bpf_map* m = bpf_object__find_map_by_name(skel->obj, name);
    int fd = m ? dup(bpf_map__fd(m)) : -1;
    if (fd < 0) return errno_error("map " + std::string(name));
    e.impl_->maps.emplace(name, UniqueFd(fd));
  }
  // The guard knows every map and program, and the directory, before anything is attached.
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, skel->obj) {
    if (auto s = guard_object(e.fd("guard_ids"), TW_GUARD_KIND_MAP, bpf_map__fd(m), bpf_map__name(m)); !s)
      return s.error();
  }
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) {
    if (auto s = guard_object(e.fd("guard_ids"), TW_GUARD_KIND_PROG, bpf_program__fd(prog), bpf_program__name(prog)); !s)
      return s.error();
  }
  if (auto s = guard_directory(e.fd("guard_dir"), staging); !s) return s.error();
  // Tables before attaching: the programs are never attached without a policy.
  if (auto s = e.write_generation(tables, o.log_allowed); !s) return s.error();
  fault_point("install-tables");
  // Maps are pinned before anything is attached; links live in the staging directory until the
  // rename, so a writer killed at any step leaves either nothing attached (its link fds close) or
  // links under a staging directory that the next writer's clean_stale() removes.
  // The staging guard removes it all on failure.
  for (const char* name : kMaps) {
    std::string p = pin_path(staging, name);
    if (bpf_obj_pin(e.fd(name), p.c_str()) != 0) return errno_error("BPF_OBJ_PIN", p);
    chmod(p.c_str(), 0600);
  }
  fault_point("install-maps-pinned");
  if (int err = tokenwarden::attach(skel)) return Error{"attach BPF LSM programs", -err, ""};
  fault_point("install-attached");
  // The skeleton pairs every program with its link.
  for (int i = 0; i < skel->skeleton->prog_cnt; ++i) {
    const bpf_prog_skeleton& ps = skel->skeleton->progs[i];
    std::string p = pin_path(staging, std::string("link_") + ps.name);
    if (!*ps.link || bpf_link__pin(*ps.link, p.c_str()) != 0) return errno_error("BPF_OBJ_PIN", p);
    chmod(p.c_str(), 0600);
    if (auto s = guard_object(e.fd("guard_ids"), TW_GUARD_KIND_LINK, bpf_link__fd(*ps.link), p); !s) return s.error();
  }
  fault_point("install-links-pinned");
  if (rename(staging.c_str(), o.pin_root.c_str()) != 0) return errno_error("rename", staging + " -> " + o.pin_root);
  staging_guard.keep = true;
  fault_point("install-renamed");
  return e;
}

Result<Enforcer> Enforcer::open(const std::string& pin_root) {
  Enforcer e;
  e.impl_->root = pin_root;
  for (const char* name : kMaps) {
    std::string p = pin_path(pin_root, name);
    int fd = bpf_obj_get(p.c_str());
    if (fd < 0 && errno == ENOENT && installed(pin_root))
      return Error{"BPF_OBJ_GET", ENOENT,
                   p + " is missing: the loaded policy's programs come from a tokenwarden with another BPF program "
                       "ABI (this one has " + std::to_string(TW_ABI_VERSION) +
                       "); they keep enforcing it. Run `tokenwarden unload` and `tokenwarden load` to move to this "
                       "version's programs"};
    if (fd < 0) return errno_error("BPF_OBJ_GET", p);
    e.impl_->maps.emplace(name, UniqueFd(fd));
  }
  return e;
}

Status Enforcer::remove(const PinLock& lock) {
  const std::string& pin_root = lock.pin_root();
  if (!installed(pin_root)) return Error{"unload", ENOENT, pin_root + ": no policy is loaded"};
  // Aside first, in one step: a kill while unpinning leaves a "-removing-" directory that the
  // next writer finishes, never a pin root with some pins gone.
  std::string aside = side_dir(pin_root, "removing");
  if (rename(pin_root.c_str(), aside.c_str()) != 0) return errno_error("rename", pin_root + " -> " + aside);
  fault_point("remove-renamed");
  remove_tree(aside);
  fault_point("remove-unpinned");
  struct stat st {};
  if (stat(aside.c_str(), &st) == 0) return Error{"unload", EBUSY, aside + " could not be removed"};
  return ok_status();
}

Result<uint64_t> Enforcer::replace(const vocab::PolicyTables& tables, bool log_allowed, const PinLock& lock) {
  if (lock.pin_root() != impl_->root) return Error{"replace", EINVAL, "the lock is for " + lock.pin_root()};
  return write_generation(tables, log_allowed);
}

namespace {

// Entries of a hash map, counted by walking its keys.
uint32_t hash_entries(int map, uint32_t key_size) {
  uint32_t n = 0;
  std::vector<char> k(key_size), next(key_size);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(map, prev, next.data()) == 0) {
    k = next;
    prev = k.data();
    ++n;
  }
  return n;
}

// The live generation's tables (`outer` indexed by Gen): what they hold, their memory, and what
// is wrong with them.
void read_live_generation(const tw_ctl& ctl, const std::array<int, std::size(kGens)>& outer, EnforcerStatus& st) {
  const auto& shapes = inner_shapes();
  uint32_t slot = ctl.slot & 1, zero = 0;
  std::array<std::optional<uint32_t>, std::size(kGens)> entries;  // of the hash tables
  std::optional<tw_settings> settings;
  for (Gen g : kGens) {
    size_t i = static_cast<size_t>(g);
    uint32_t id = 0;
    if (bpf_map_lookup_elem(outer[i], &slot, &id) != 0) {
      st.problems.push_back(std::string("the live slot has no ") + outer_name(g) + " table");
      continue;
    }
    UniqueFd inner(bpf_map_get_fd_by_id(id));
    if (inner.get() < 0) {
      st.problems.push_back(std::string("the live slot's ") + outer_name(g) + " table cannot be opened");
      continue;
    }
    if (shapes && (*shapes)[i].type == BPF_MAP_TYPE_HASH) entries[i] = hash_entries(inner.get(), (*shapes)[i].key_size);
    st.kernel_memory_bytes += fdinfo_memlock(inner.get());
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_map_get_info_by_fd(inner.get(), &info, &len) == 0) {
      if (g == Gen::conjs) st.alternatives = info.max_entries;
      if (g == Gen::profiles) st.profiles = info.max_entries;
    }
    tw_settings set{};
    if (g == Gen::settings && bpf_map_lookup_elem(inner.get(), &zero, &set) == 0 && set.generation != 0) settings = set;
  }
  if (!settings) {
    st.problems.push_back("the live slot has no settings");
    return;
  }
  st.policy_name = settings->policy_name;
  st.loaded_at_ns = settings->loaded_at_ns;
  st.policy_sha256.clear();
  for (uint8_t b : settings->policy_sha256) st.policy_sha256 += fmt::format("{:02x}", b);
  if (settings->generation != ctl.generation)
    st.problems.push_back("the live settings belong to generation " + std::to_string(settings->generation) +
                          ", `ctl` names generation " + std::to_string(ctl.generation));
  auto expect = [&](Gen g, uint32_t want) {
    if (auto n = entries[static_cast<size_t>(g)]; n && *n != want)
      st.problems.push_back(std::string("the live ") + outer_name(g) + " table holds " + std::to_string(*n) +
                            " entries, the policy has " + std::to_string(want));
  };
  expect(Gen::profiles, settings->n_profiles);
  expect(Gen::index, settings->n_index);
}

// The per-CPU drop counters, summed.
tw_stats read_stats(int stats, int ncpus) {
  tw_stats sum{};
  uint32_t zero = 0;
  std::vector<tw_stats> per_cpu(static_cast<size_t>(ncpus));
  if (bpf_map_lookup_elem(stats, &zero, per_cpu.data()) == 0)
    for (const auto& s : per_cpu) {
      sum.events += s.events;
      sum.dropped_ringbuf += s.dropped_ringbuf;
      sum.dropped_ratelimit += s.dropped_ratelimit;
      sum.token_map_full += s.token_map_full;
      sum.counters_full += s.counters_full;
      for (int g = 0; g < TW_GUARD_COUNT; ++g) sum.guard[g] += s.guard[g];
    }
  return sum;
}

std::map<uint64_t, std::string> names_of(const std::map<uint64_t, tw_profile>& profiles) {
  std::map<uint64_t, std::string> names;
  for (const auto& [id, p] : profiles) names[id] = std::string(p.name, strnlen(p.name, sizeof p.name));
  return names;
}

// Per-profile counters: the per-CPU counters, plus the allowed uses live tokens still hold in
// their records (they are folded into the counters when a token is freed).
void read_counters(int tokens, int counters, int live, int ncpus, EnforcerStatus& st) {
  std::map<uint64_t, ProfileCounters> by_id;
  uint64_t key = 0, next = 0;
  const uint64_t* prev = nullptr;
  tw_token token{};
  while (bpf_map_get_next_key(tokens, prev, &next) == 0) {
    key = next;
    prev = &key;
    ++st.tokens;
    if (bpf_map_lookup_elem(tokens, &key, &token) != 0) continue;
    ProfileCounters& pc = by_id[token.profile_id];
    for (int h = 0; h < TW_HOOK_COUNT; ++h) pc.allowed[h] += token.allowed[h];
  }
  st.token_capacity = max_entries_of(tokens);
  std::vector<tw_counters> per_cpu(static_cast<size_t>(ncpus));
  prev = nullptr;
  while (bpf_map_get_next_key(counters, prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(counters, &key, per_cpu.data()) != 0) continue;
    ProfileCounters& pc = by_id[key];
    for (const auto& c : per_cpu) {
      for (int h = 0; h < TW_HOOK_COUNT; ++h) {
        pc.allowed[h] += c.allowed[h];
        pc.denied[h] += c.denied[h];
        pc.audited[h] += c.audited[h];
      }
    }
  }
  prev = nullptr;
  while (bpf_map_get_next_key(live, prev, &next) == 0) {
    key = next;
    prev = &key;
    tw_live n{};
    if (bpf_map_lookup_elem(live, &key, &n) != 0) continue;
    ProfileCounters& pc = by_id[key];
    pc.live_tokens = n.tokens;
    pc.live_maps = n.maps;
    pc.live_progs = n.progs;
    pc.live_reserved = n.reserved;
  }
  for (auto& [id, pc] : by_id) {
    pc.id = id;
    for (int h = 0; h < TW_HOOK_COUNT; ++h) st.decisions += pc.allowed[h] + pc.denied[h] + pc.audited[h];
    st.counters.push_back(pc);
  }
}

// The creator table: per profile, how many creators hold tokens and the most one holds. An entry
// marked gone (its last token's free is deleting it) holds none. A profile with creators but no
// counters yet (its tokens are all live, none decided since) gets an entry of its own.
void read_creators(int creators, EnforcerStatus& st) {
  std::unordered_map<uint64_t, size_t> at;
  for (size_t i = 0; i < st.counters.size(); ++i) at[st.counters[i].id] = i;
  tw_creator_key key{}, next{};
  const tw_creator_key* prev = nullptr;
  while (bpf_map_get_next_key(creators, prev, &next) == 0) {
    key = next;
    prev = &key;
    int64_t n = 0;
    if (bpf_map_lookup_elem(creators, &key, &n) != 0 || n <= 0 || key.by > TW_BY_USERNS) continue;
    ++st.creators;
    auto [it, fresh] = at.try_emplace(key.profile_id, st.counters.size());
    if (fresh) st.counters.push_back(ProfileCounters{.id = key.profile_id});
    ProfileCounters& c = st.counters[it->second];
    ++c.creators[key.by];
    c.creator_most[key.by] = std::max(c.creator_most[key.by], n);
  }
}

}  // namespace

Result<EnforcerStatus> Enforcer::status(const PinLock& lock) const {
  if (lock.pin_root() != impl_->root) return Error{"status", EINVAL, "the lock is for " + lock.pin_root()};
  EnforcerStatus st;
  uint32_t zero = 0;
  tw_ctl ctl{};
  if (bpf_map_lookup_elem(fd("ctl"), &zero, &ctl) != 0) return errno_error("BPF_MAP_LOOKUP_ELEM(ctl)");
  st.loaded = ctl.loaded;
  st.generation = ctl.generation;
  for (const char* name : kMaps) st.kernel_memory_bytes += fdinfo_memlock(fd(name));
  if (!ctl.loaded) {
    st.problems.push_back("`ctl` says no generation is live, yet the programs are pinned");
  } else {
    std::array<int, std::size(kGens)> outer{};
    for (Gen g : kGens) outer[static_cast<size_t>(g)] = fd(outer_name(g));
    read_live_generation(ctl, outer, st);
  }
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Error{"libbpf_num_possible_cpus", -ncpus, ""};
  st.stats = read_stats(fd("stats"), ncpus);
  read_counters(fd("tokens"), fd("counters"), fd("live"), ncpus, st);
  read_creators(fd("creators"), st);
  // One pass over the live profiles gives the counters' limits and names.
  auto profiles = live_profiles();
  for (auto& c : st.counters)
    if (auto it = profiles.find(c.id); it != profiles.end()) {
      c.tokens_limit = it->second.rules.limits[TW_LIM_TOKENS];
      c.maps_limit = it->second.rules.limits[TW_LIM_PROFILE_MAPS];
      c.progs_limit = it->second.rules.limits[TW_LIM_PROFILE_PROGS];
      c.tokens_reserve = it->second.reserve_tokens;
      c.creator_limit[TW_BY_UID] = it->second.rules.limits[TW_LIM_UID_TOKENS];
      c.creator_limit[TW_BY_USERNS] = it->second.rules.limits[TW_LIM_USERNS_TOKENS];
    }
  st.objects = hash_entries(fd("objects"), sizeof(uint64_t));
  int64_t shared_used = 0;
  if (bpf_map_lookup_elem(fd("pool"), &zero, &shared_used) == 0) st.shared_tokens_used = shared_used;
  for (const auto& [id, p] : profiles) st.tokens_reserved += p.reserve_tokens;
  st.object_capacity = max_entries_of(fd("objects"));
  st.creator_capacity = max_entries_of(fd("creators"));
  st.profile_names = names_of(profiles);
  tw_guard_dir dir{};
  st.guard_dir_set = bpf_map_lookup_elem(fd("guard_dir"), &zero, &dir) == 0 && dir.set;
  st.guarded_ids = hash_entries(fd("guard_ids"), sizeof(tw_guard_id));
  return st;
}

std::map<uint64_t, tw_profile> Enforcer::live_profiles() const {
  std::map<uint64_t, tw_profile> out;
  uint32_t zero = 0;
  tw_ctl ctl{};
  if (bpf_map_lookup_elem(fd("ctl"), &zero, &ctl) != 0 || !ctl.loaded) return out;
  uint32_t slot = ctl.slot, id = 0;
  if (bpf_map_lookup_elem(fd(outer_name(Gen::profiles)), &slot, &id) != 0) return out;
  UniqueFd inner(bpf_map_get_fd_by_id(id));
  if (inner.get() < 0) return out;
  uint64_t key = 0, next = 0;
  const uint64_t* prev = nullptr;
  tw_profile p{};
  while (bpf_map_get_next_key(inner.get(), prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(inner.get(), &key, &p) == 0) out[key] = p;
  }
  return out;
}

std::map<uint64_t, std::string> Enforcer::profile_names() const { return names_of(live_profiles()); }

std::vector<std::string> pinned_map_names() { return {std::begin(kMaps), std::end(kMaps)}; }

}  // namespace tw::kernel
