// SPDX-License-Identifier: Apache-2.0
// The enforcer: tokenwarden's BPF LSM programs (lsm-progs/tokenwarden.bpf.c) loaded, fed with a
// policy's tables, attached, and pinned under one bpffs directory so that enforcement outlives
// the command that loaded it.
//
//   install  load the programs, write the tables into slot 0, switch the policy on, attach,
//            pin everything in a staging directory and rename it into place. Any failure
//            leaves nothing attached and nothing pinned.
//   replace  new inner maps for the idle slot, filled completely, then one update of `ctl`
//            flips every hook to them; then an RCU grace period (membarrier) so that no running
//            program still reads the old slot before it may be reused. Tokens keep their label
//            (a profile identity), so a profile that keeps its name keeps its tokens.
//   remove   rename the pin root aside (it stops being `installed` at once), then unpin
//            everything: the links go, and with them the programs.
//
// Every writer holds a PinLock (flock on the pin root's parent directory), so that two loads,
// replaces or unloads never interleave; the type makes it impossible to call them without it.
// Holding it, Enforcer::clean_stale() finishes what a killed writer left: staging and removal directories
// (with any links pinned in them), and a half-built generation in the idle slot.
//
// Pinned objects are root-only (mode 0600 in a 0700 directory): a process holding a token in a
// user namespace cannot open, read, write, detach or unpin them (see docs/enforcement.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fd.h"
#include "vocab/policy_tables.h"
#include "result.h"

namespace tw::kernel {

inline constexpr const char* kPinRoot = "/sys/fs/bpf/tokenwarden";

struct EnforcerOptions {
  std::string pin_root = kPinRoot;
  uint32_t token_capacity = 65536;  // tokens remembered at once; creation fails closed beyond
  uint32_t counter_capacity = 0;    // profiles' counters kept; 0: max(65536, 2 * profiles + 1)
  uint32_t object_capacity = 65536; // maps and programs counted per profile at once; creation fails closed beyond
  uint32_t creator_capacity = 65536; // creators counted for `limit tokens N per uid|userns` at once; likewise
  uint32_t events_per_sec = 1000;   // per CPU
  bool log_allowed = false;         // also log allowed decisions
};

struct ProfileCounters {
  uint64_t id = 0;
  uint64_t allowed[TW_HOOK_COUNT] = {}, denied[TW_HOOK_COUNT] = {}, audited[TW_HOOK_COUNT] = {};
  int64_t live_tokens = 0;
  uint32_t tokens_limit = UINT32_MAX;  // `limit tokens` of the profile in the live policy; UINT32_MAX: none
  int64_t live_maps = 0, live_progs = 0;  // counted for profiles with `limit maps|progs N per profile` only
  uint32_t maps_limit = UINT32_MAX, progs_limit = UINT32_MAX;  // those limits; UINT32_MAX: none
  uint32_t tokens_reserve = 0;  // `reserve tokens` of the profile in the live policy
  int64_t live_reserved = 0;    // its live tokens holding reserved slots
  // `limit tokens N per uid|userns`, by TW_BY_UID and TW_BY_USERNS: the limit (UINT32_MAX: none),
  // how many creators hold tokens of the profile, and the most tokens one of them holds.
  uint32_t creator_limit[2] = {UINT32_MAX, UINT32_MAX};
  uint32_t creators[2] = {};
  int64_t creator_most[2] = {};
};

struct EnforcerStatus {
  bool loaded = false;
  std::string policy_name;
  std::string policy_sha256;
  uint64_t generation = 0;
  uint64_t loaded_at_ns = 0;  // CLOCK_REALTIME
  uint32_t profiles = 0, alternatives = 0;
  uint64_t tokens = 0;  // labelled tokens alive
  uint32_t token_capacity = 0;
  uint64_t tokens_reserved = 0;    // token slots the live policy's profiles reserve
  int64_t shared_tokens_used = 0;  // shared token slots taken
  uint64_t objects = 0;  // maps and programs counted in their profiles' live objects
  uint32_t object_capacity = 0;
  uint64_t creators = 0;  // entries of the creator table: (profile, uid or user namespace) holding tokens
  uint32_t creator_capacity = 0;
  tw_stats stats{};
  uint64_t decisions = 0;  // every hook invocation a policy decided, summed over the counters
  std::vector<ProfileCounters> counters;
  std::map<uint64_t, std::string> profile_names;  // of the live policy, as profile_names() gives them
  uint64_t kernel_memory_bytes = 0;  // memlock of every map and program
  bool guard_dir_set = false;        // the guard knows the pin directory
  uint32_t guarded_ids = 0;          // maps, programs and links the guard keeps
  // What is wrong with the live generation's tables (empty when it is complete). The programs
  // fail closed on it: every token decision is refused (reason TW_R_INCOMPLETE).
  std::vector<std::string> problems;
};

// Exclusive right to change one pin root, across processes; released when destroyed (or when
// its process dies: a SIGKILLed writer never leaves the lock held).
class PinLock {
 public:
  // Waits up to `wait_ms` for another writer to finish; EBUSY naming its pid after that.
  static Result<PinLock> acquire(const std::string& pin_root, int wait_ms);
  const std::string& pin_root() const { return root_; }

 private:
  PinLock(std::string root, UniqueFd fd) : root_(std::move(root)), fd_(std::move(fd)) {}
  std::string root_;
  UniqueFd fd_;
};

class Enforcer {
 public:
  static Result<Enforcer> install(const vocab::PolicyTables& tables, const EnforcerOptions& options, const PinLock& lock);
  static Result<Enforcer> open(const std::string& pin_root = kPinRoot);
  static Status remove(const PinLock& lock);
  static bool installed(const std::string& pin_root = kPinRoot);
  // Removes what a writer killed mid-way left behind; one line per thing it cleaned.
  static std::vector<std::string> clean_stale(const PinLock& lock);

  // The new generation, or an Error with the previous policy still in force.
  Result<uint64_t> replace(const vocab::PolicyTables& tables, bool log_allowed, const PinLock& lock);
  // Holding the lock, the live generation is never half-switched: what status finds wrong with
  // it (EnforcerStatus::problems) is real, and the programs refuse every token decision.
  Result<EnforcerStatus> status(const PinLock& lock) const;
  // Profile id -> name, from the live policy.
  std::map<uint64_t, std::string> profile_names() const;
  std::map<uint64_t, tw_profile> live_profiles() const;  // the live generation's profile records, by id
  int events_fd() const { return fd("events"); }

  Enforcer(Enforcer&&) noexcept;
  Enforcer& operator=(Enforcer&&) noexcept;
  ~Enforcer();

 private:
  Enforcer();
  int fd(const std::string& map) const;
  Result<uint64_t> write_generation(const vocab::PolicyTables& tables, bool log_allowed);  // the generation
  std::vector<std::string> clear_idle_slot();
  void release_slot(uint32_t slot);  // empties a slot of every outer map; the guard forgets its tables

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The maps a pin root holds, by the names they are pinned under (the BPF object's map names).
std::vector<std::string> pinned_map_names();

// Test hook: `TW_FAULT_KILL_AT=<step>` makes a writer SIGKILL itself at that step (steps are
// listed in enforcer.cpp), so that tests can prove that no step leaves a half-applied state.
void fault_point(const char* step);
// A failure injected at `step` (TW_FAULT_FAIL_AT=step): what a kernel refusal there would do.
bool fault_fail(const std::string& step);

}  // namespace tw::kernel
