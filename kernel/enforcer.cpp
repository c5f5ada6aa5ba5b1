#include "enforcer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "tokenwarden.skel.h"

namespace tw::kernel {

namespace {

// Every map the programs own, by the name it is pinned under.
constexpr const char* kMaps[] = {"ctl",          "tokens",    "counters",  "stats",    "ratelimit", "events",
                                 "gen_settings", "gen_profiles", "gen_conjs", "gen_index", "gen_scan"};

struct Inner {
  const char* outer;
  bpf_map_type type;
  uint32_t key_size, value_size, flags;
};
// The inner maps of one generation, as their templates in tokenwarden.bpf.c declare them.
constexpr Inner kInner[] = {
    {"gen_settings", BPF_MAP_TYPE_ARRAY, 4, sizeof(tw_settings), 0},
    {"gen_profiles", BPF_MAP_TYPE_HASH, 8, sizeof(tw_profile), 0},
    {"gen_conjs", BPF_MAP_TYPE_ARRAY, 4, sizeof(tw_conj), BPF_F_INNER_MAP},
    {"gen_index", BPF_MAP_TYPE_HASH, sizeof(tw_index_key), sizeof(tw_index_val), 0},
    {"gen_scan", BPF_MAP_TYPE_ARRAY, 4, sizeof(uint32_t), BPF_F_INNER_MAP},
};

std::string pin_path(const std::string& root, const std::string& name) { return root + "/" + name; }

Result<UniqueFd> create_inner(const Inner& in, size_t entries) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = in.flags);
  std::string name = std::string("tw_") + (in.outer + 4);
  int fd = bpf_map_create(in.type, name.c_str(), in.key_size, in.value_size,
                          static_cast<uint32_t>(std::max<size_t>(entries, 1)), &opts);
  if (fd < 0) return errno_error("BPF_MAP_CREATE(" + name + ")", std::to_string(entries) + " entries");
  return UniqueFd(fd);
}

Status update(int fd, const void* key, const void* value, const std::string& what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) return errno_error("BPF_MAP_UPDATE_ELEM(" + what + ")");
  return ok_status();
}

// Removes a pin directory and what is pinned in it (bpffs holds no subdirectories of ours).
void remove_tree(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") unlink(pin_path(dir, n).c_str());
    }
    closedir(d);
  }
  rmdir(dir.c_str());
}

uint64_t fdinfo_memlock(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("memlock:", 0) == 0) return std::stoull(line.substr(8));
  return 0;
}

}  // namespace

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

Result<uint64_t> Enforcer::write_generation(const PolicyTables& t, bool log_allowed) {
  uint32_t zero = 0;
  tw_ctl cur{};
  if (bpf_map_lookup_elem(fd("ctl"), &zero, &cur) != 0) return errno_error("BPF_MAP_LOOKUP_ELEM(ctl)");
  uint32_t idle = cur.loaded ? (cur.slot ^ 1) : 0;

  // Build every table of the new generation completely before anything points at it.
  std::vector<UniqueFd> inner;
  size_t sizes[] = {1, t.profiles.size(), t.conjs.size(), t.index.size(), t.scan.size()};
  for (size_t i = 0; i < std::size(kInner); ++i) {
    auto m = create_inner(kInner[i], sizes[i]);
    if (!m) return m.error();
    inner.push_back(std::move(*m));
  }
  tw_settings settings = t.settings;
  settings.generation = cur.generation + 1;
  settings.log_allowed = log_allowed;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  settings.loaded_at_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + static_cast<uint64_t>(now.tv_nsec);
  std::strncpy(settings.policy_name, t.name.c_str(), sizeof settings.policy_name - 1);
  if (auto s = update(inner[0].get(), &zero, &settings, "settings"); !s) return s.error();
  for (tw_profile p : t.profiles) {
    p.rules.log_allowed = log_allowed;
    if (auto s = update(inner[1].get(), &p.id, &p, "profiles"); !s) return s.error();
  }
  for (uint32_t i = 0; i < t.conjs.size(); ++i)
    if (auto s = update(inner[2].get(), &i, &t.conjs[i], "conjs"); !s) return s.error();
  for (const auto& [k, v] : t.index)
    if (auto s = update(inner[3].get(), &k, &v, "index"); !s) return s.error();
  for (uint32_t i = 0; i < t.scan.size(); ++i)
    if (auto s = update(inner[4].get(), &i, &t.scan[i], "scan"); !s) return s.error();

  for (size_t i = 0; i < std::size(kInner); ++i) {
    int inner_fd = inner[i].get();
    if (auto s = update(fd(kInner[i].outer), &idle, &inner_fd, kInner[i].outer); !s) return s.error();
  }
  // The switch: one update, after which every hook reads the new generation.
  tw_ctl next{idle, 1, cur.generation + 1};
  if (auto s = update(fd("ctl"), &zero, &next, "ctl"); !s) return s.error();
  if (cur.loaded) {
    // Wait until no program can still be reading the old slot, then release its maps.
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0) usleep(100 * 1000);
    uint32_t old = cur.slot;
    for (const auto& in : kInner) bpf_map_delete_elem(fd(in.outer), &old);
  }
  return next.generation;
}

Result<Enforcer> Enforcer::install(const PolicyTables& tables, const EnforcerOptions& o) {
  if (installed(o.pin_root))
    return Error{"install", EEXIST, o.pin_root + " exists: a policy is loaded (replace it, or unload first)"};
  // The staging directory for the pins, made before anything is loaded.
  // No dot in the name: bpffs refuses names with dots (EPERM).
  std::string staging = o.pin_root + "-staging-" + std::to_string(getpid());
  remove_tree(staging);
  if (mkdir(staging.c_str(), 0700) != 0) return errno_error("mkdir", staging);
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
  bpf_map__set_max_entries(skel->maps.counters,
                           std::max<uint32_t>(65536, static_cast<uint32_t>(tables.profiles.size() * 2 + 1)));
  if (int err = tokenwarden::load(skel)) return Error{"load BPF LSM programs", -err, "tokenwarden.bpf.o"};

  Enforcer e;
  e.impl_->root = o.pin_root;
  for (const char* name : kMaps) {
    bpf_map* m = bpf_object__find_map_by_name(skel->obj, name);
    int fd = m ? dup(bpf_map__fd(m)) : -1;
    if (fd < 0) return errno_error("map " + std::string(name));
    e.impl_->maps.emplace(name, UniqueFd(fd));
  }
  // Tables before attaching: the programs are never attached without a policy.
  if (auto s = e.write_generation(tables, o.log_allowed); !s) return s.error();
  if (int err = tokenwarden::attach(skel)) return Error{"attach BPF LSM programs", -err, ""};

  // Pin into the staging directory (its guard removes it on failure), then rename it into place.
  for (const char* name : kMaps) {
    std::string p = pin_path(staging, name);
    if (bpf_obj_pin(e.fd(name), p.c_str()) != 0) return errno_error("BPF_OBJ_PIN", p);
    chmod(p.c_str(), 0600);
  }
  // The skeleton pairs every program with its link.
  for (int i = 0; i < skel->skeleton->prog_cnt; ++i) {
    const bpf_prog_skeleton& ps = skel->skeleton->progs[i];
    std::string p = pin_path(staging, std::string("link_") + ps.name);
    if (!*ps.link || bpf_link__pin(*ps.link, p.c_str()) != 0) return errno_error("BPF_OBJ_PIN", p);
    chmod(p.c_str(), 0600);
  }
  if (rename(staging.c_str(), o.pin_root.c_str()) != 0) return errno_error("rename", staging + " -> " + o.pin_root);
  staging_guard.keep = true;
  return e;
}

Result<Enforcer> Enforcer::open(const std::string& pin_root) {
  Enforcer e;
  e.impl_->root = pin_root;
  for (const char* name : kMaps) {
    std::string p = pin_path(pin_root, name);
    int fd = bpf_obj_get(p.c_str());
    if (fd < 0) return errno_error("BPF_OBJ_GET", p);
    e.impl_->maps.emplace(name, UniqueFd(fd));
  }
  return e;
}

Status Enforcer::remove(const std::string& pin_root) {
  if (!installed(pin_root)) return Error{"unload", ENOENT, pin_root + ": no policy is loaded"};
  // Hold an fd on every link while unpinning, and close them last. The last reference of a link
  // dropped through its pin is released from a workqueue (the programs would stay attached for a
  // moment after `unload` returns); the last one dropped by close() is released right there.
  std::vector<UniqueFd> links;
  if (DIR* d = opendir(pin_root.c_str())) {
    while (dirent* ent = readdir(d)) {
      std::string n = ent->d_name;
      if (n.rfind("link_", 0) != 0) continue;
      UniqueFd link(bpf_obj_get(pin_path(pin_root, n).c_str()));
      if (link.get() < 0) return errno_error("BPF_OBJ_GET", pin_path(pin_root, n));
      links.push_back(std::move(link));
    }
    closedir(d);
  }
  remove_tree(pin_root);
  struct stat st {};
  if (stat(pin_root.c_str(), &st) == 0) return Error{"unload", EBUSY, pin_root + " could not be removed"};
  links.clear();  // detaches the programs, synchronously
  return ok_status();
}

Result<uint64_t> Enforcer::replace(const PolicyTables& tables, bool log_allowed) {
  return write_generation(tables, log_allowed);
}

Result<EnforcerStatus> Enforcer::status() const {
  EnforcerStatus st;
  uint32_t zero = 0;
  tw_ctl ctl{};
  if (bpf_map_lookup_elem(fd("ctl"), &zero, &ctl) != 0) return errno_error("BPF_MAP_LOOKUP_ELEM(ctl)");
  st.loaded = ctl.loaded;
  st.generation = ctl.generation;
  for (const char* name : kMaps) st.kernel_memory_bytes += fdinfo_memlock(fd(name));
  if (ctl.loaded) {
    uint32_t slot = ctl.slot;
    for (const auto& in : kInner) {
      uint32_t id = 0;
      if (bpf_map_lookup_elem(fd(in.outer), &slot, &id) != 0) continue;
      UniqueFd inner(bpf_map_get_fd_by_id(id));
      if (inner.get() < 0) continue;
      st.kernel_memory_bytes += fdinfo_memlock(inner.get());
      bpf_map_info info{};
      uint32_t len = sizeof info;
      if (bpf_map_get_info_by_fd(inner.get(), &info, &len) == 0) {
        if (!std::strcmp(in.outer, "gen_conjs")) st.alternatives = info.max_entries;
        if (!std::strcmp(in.outer, "gen_profiles")) st.profiles = info.max_entries;
      }
      if (!std::strcmp(in.outer, "gen_settings")) {
        tw_settings s{};
        if (bpf_map_lookup_elem(inner.get(), &zero, &s) == 0) {
          st.policy_name = s.policy_name;
          st.loaded_at_ns = s.loaded_at_ns;
          for (uint8_t b : s.policy_sha256) {
            char hex[3];
            std::snprintf(hex, sizeof hex, "%02x", b);
            st.policy_sha256 += hex;
          }
        }
      }
    }
  }
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Error{"libbpf_num_possible_cpus", -ncpus, ""};
  std::vector<tw_stats> per_cpu(static_cast<size_t>(ncpus));
  if (bpf_map_lookup_elem(fd("stats"), &zero, per_cpu.data()) == 0)
    for (const auto& s : per_cpu) {
      st.stats.events += s.events;
      st.stats.dropped_ringbuf += s.dropped_ringbuf;
      st.stats.dropped_ratelimit += s.dropped_ratelimit;
      st.stats.token_map_full += s.token_map_full;
    }
  // Allowed uses of live tokens are counted in their records until they are freed.
  std::map<uint64_t, ProfileCounters> by_id;
  uint64_t key = 0, next = 0;
  const uint64_t* prev = nullptr;
  tw_token token{};
  while (bpf_map_get_next_key(fd("tokens"), prev, &next) == 0) {
    key = next;
    prev = &key;
    ++st.tokens;
    if (bpf_map_lookup_elem(fd("tokens"), &key, &token) != 0) continue;
    ProfileCounters& pc = by_id[token.profile_id];
    for (int h = 0; h < TW_HOOK_COUNT; ++h) pc.allowed[h] += token.allowed[h];
  }
  bpf_map_info tinfo{};
  uint32_t tlen = sizeof tinfo;
  if (bpf_map_get_info_by_fd(fd("tokens"), &tinfo, &tlen) == 0) st.token_capacity = tinfo.max_entries;
  std::vector<tw_counters> counters(static_cast<size_t>(ncpus));
  prev = nullptr;
  while (bpf_map_get_next_key(fd("counters"), prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(fd("counters"), &key, counters.data()) != 0) continue;
    ProfileCounters& pc = by_id[key];
    for (const auto& c : counters) {
      for (int h = 0; h < TW_HOOK_COUNT; ++h) {
        pc.allowed[h] += c.allowed[h];
        pc.denied[h] += c.denied[h];
        pc.audited[h] += c.audited[h];
      }
      pc.live_tokens += c.live_tokens;
    }
  }
  for (auto& [id, pc] : by_id) {
    pc.id = id;
    for (int h = 0; h < TW_HOOK_COUNT; ++h) st.decisions += pc.allowed[h] + pc.denied[h] + pc.audited[h];
    st.counters.push_back(pc);
  }
  return st;
}

std::map<uint64_t, std::string> Enforcer::profile_names() const {
  std::map<uint64_t, std::string> names;
  uint32_t zero = 0;
  tw_ctl ctl{};
  if (bpf_map_lookup_elem(fd("ctl"), &zero, &ctl) != 0 || !ctl.loaded) return names;
  uint32_t slot = ctl.slot, id = 0;
  if (bpf_map_lookup_elem(fd("gen_profiles"), &slot, &id) != 0) return names;
  UniqueFd inner(bpf_map_get_fd_by_id(id));
  if (inner.get() < 0) return names;
  uint64_t key = 0, next = 0;
  const uint64_t* prev = nullptr;
  tw_profile p{};
  while (bpf_map_get_next_key(inner.get(), prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(inner.get(), &key, &p) == 0) names[key] = std::string(p.name, strnlen(p.name, sizeof p.name));
  }
  return names;
}

const char* hook_name(int hook) {
  static const char* names[] = {"bpf_token_create", "bpf_token_cmd", "bpf_token_capable", "bpf_map_create",
                                "bpf_prog_load"};
  return hook >= 0 && hook < TW_HOOK_COUNT ? names[hook] : "?";
}

const char* reason_text(int reason) {
  static const char* texts[] = {
      "allowed",
      "labelled with its profile",
      "no profile matches; default allow (unconfined)",
      "no profile matches; default deny",
      "the profile refuses tokens",
      "strict profile: the bpffs delegates more than the profile grants",
      "the token table is full (fails closed)",
      "the token predates the policy; preexisting deny",
      "command not allowed",
      "capability not allowed",
      "map type not allowed",
      "max_entries over the limit",
      "key_size over the limit",
      "value_size over the limit",
      "forbidden map flags",
      "maps per token over the limit",
      "program type not allowed",
      "attach type not allowed",
      "instruction count over the limit",
      "sleepable programs forbidden",
      "programs per token over the limit",
      "the token's profile is not in the live policy",
  };
  return reason >= 0 && reason < TW_R_COUNT ? texts[reason] : "?";
}

}  // namespace tw::kernel
