// SPDX-License-Identifier: Apache-2.0
// The reference evaluator: what each hook decides for given inputs, with the deciding profile,
// the rule and the reason. It is the specification of the BPF LSM programs (the VM tests run the
// same decision cases on both and require the same verdicts) and the engine of `simulate` and
// `test`. It reads only the IR.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ir.h"

namespace tw::compiler {

// The deciding hooks (vocab/hook.def), numbered as the programs' enum tw_hook.
enum class Hook {
#define TW_HOOK(ENUM, ident, name) ident,
#include "vocab/hook.def"
#undef TW_HOOK
};
std::string_view hook_name(Hook h);  // "bpf_token_create", ...
std::optional<Hook> hook_from_name(std::string_view s);  // "token_create" or "bpf_token_create"

struct Creator {
  uint32_t uid = 0, gid = 0;
  // `exe` is the file's own path on the host; `cgroup` the cgroup's path below the cgroup2 root.
  std::string comm, exe, cgroup = "/";
  std::optional<std::string> selinux_type;  // unknown to the BPF LSM
  // Real life that must not change a verdict, which policies name paths to survive: the cgroup
  // was removed and created again this many times since the load (a new id at the same path,
  // as systemd does on every restart); a new file was renamed over the executable since the load
  // (a new inode, as dpkg does); the executable is seen at this other path in the creator's mount
  // namespace (a bind mount there, as in a container). The evaluator decides by paths, so these
  // change nothing for it; the VM acts them out (tests/vm/guest/differential.cpp).
  uint32_t cgroup_restarts = 0;
  bool exe_replaced = false;
  std::string exe_seen_at;
};

struct TokenFacts {
  uint64_t cmds = 0, maps = 0, progs = 0, attachs = 0;  // what the bpffs delegates
  uint32_t userns_owner = 0, userns_depth = 1;
  std::string bpffs;  // where the creator's mount namespace mounts the bpffs; "" when it does not
  std::optional<std::string> delegator_type;  // SELinux type of whoever set up the bpffs
};

struct MapRequest {
  uint32_t type = 0, max_entries = 0, key_size = 0, value_size = 0, flags = 0;
};

struct ProgRequest {
  uint32_t type = 0, attach = 0, insns = 0;
  bool sleepable = false;
};

struct Event {
  Hook hook = Hook::token_create;
  Creator creator;  // the task that created the token
  TokenFacts token;
  uint32_t cmd = 0;  // token_cmd
  int cap = 0;       // token_capable
  MapRequest map;    // map_create
  ProgRequest prog;  // prog_load
  uint32_t maps_created = 0, progs_created = 0;  // by this token before this call
  uint32_t tokens_live = 0;                      // token_create: the profile's live tokens before it
  // token_create: the profile's live tokens before it that the creator's uid holds, and that the
  // token's user namespace holds (`limit tokens N per uid|userns`).
  uint32_t uid_tokens_live = 0, userns_tokens_live = 0;
  // token_create: the token table's shared slots are all taken (the unreserved part of
  // `load --token-capacity`); a profile with `reserve tokens` and fewer live tokens than that
  // still gets one of its own.
  bool shared_full = false;
  uint32_t maps_live = 0, progs_live = 0;  // the profile's live maps and programs (all its tokens) before this call
  bool preexisting = false;  // the token was created before the policy was loaded
};

enum class Outcome {
  allow,  // permitted, nothing logged
  deny,   // refused, an audit event is logged
  audit,  // would be refused, but the mode is audit: permitted and logged
};
std::string_view outcome_name(Outcome o);

struct Decision {
  Outcome outcome = Outcome::allow;
  std::string profile;  // deciding profile, "" when none
  std::string rule;     // "file:line:col" of the deciding rule or profile, "" for defaults
  std::string reason;
  int err = 0;          // the hook's return value when refused (positive errno)
  bool probe = false;   // allowed as one of libbpf's probes: not counted against the token's maps or programs
  bool allowed() const { return outcome != Outcome::deny; }
};

Decision evaluate(const Ir& ir, const Event& event);

// The first profile whose match clause holds for this creator and token (or nullptr).
const IrProfile* first_match(const Ir& ir, const Creator& creator, const TokenFacts& token);
bool holds(const Conjunction& c, const Creator& creator, const TokenFacts& token);

}  // namespace tw::compiler
