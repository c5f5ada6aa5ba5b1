// SPDX-License-Identifier: Apache-2.0
// The ABI's vocabulary for C++: names and constants generated from the tables the BPF programs
// are built from (attr.def, hook.def, reason.def, errno.def, capability.def, catalogue.def), so
// that no list is kept in line by hand. Everything here is plain data: no kernel, no libbpf.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tw_abi.h"

namespace tw::vocab {

// "bpf_token_create", ... (hook.def); "guard" for TW_HOOK_GUARD; "?" out of range.
std::string_view hook_name(int hook);
// What the guard refused (guard.def): its ident ("map_fd"), its LSM hook ("bpf_map") and its text.
struct GuardOp {
  std::string_view ident, hook, text;
};
const GuardOp* guard_op(int op);  // null out of range
std::span<const GuardOp> guard_ops();
// "command not allowed", ... (reason.def); "?" out of range.
std::string_view reason_text(int reason);

// The errnos a policy may name (errno.def), aliases included, in the table's order.
struct PolicyErrno {
  std::string_view name;  // "EPERM"
  int value;
  bool alias;  // another name for an earlier value ("ENOTSUP")
};
std::span<const PolicyErrno> policy_errnos();
std::optional<int> policy_errno(std::string_view name);  // case-insensitive
bool policy_errno_accepted(int value);
std::string policy_errno_names();  // "EACCES, EBUSY, ..." in alphabetical order, aliases included

// Name of any errno value ("EPERM"), or its number as text.
std::string errno_name(int err);

// Capability numbers (capability.def): cap::BPF == 39.
namespace cap {
#define TW_CAPABILITY(name, value) inline constexpr int name = value;
#include "capability.def"
#undef TW_CAPABILITY
}  // namespace cap

// The catalogue's values as constants (catalogue.def): cmd::MAP_CREATE == 0, map::ARRAY == 2,
// prog::SOCKET_FILTER == 1, attach::CGROUP_INET_INGRESS == 0.
#define TW_ENUM(kind, name, value) \
  namespace kind {                 \
  inline constexpr uint32_t name = value;      \
  }
#define TW_ENUM_MAX(kind, value)
#define TW_ENUM_SINCE(kind, name, major, minor)
#define TW_MAP_FLAG(name, bit)
#include "catalogue.def"
#undef TW_ENUM
#undef TW_ENUM_MAX
#undef TW_ENUM_SINCE
#undef TW_MAP_FLAG

// Every ABI table in one string, in order ("attr UID;attr GID;..."): what abi_pin checks.
inline constexpr char kAbiVocabulary[] =
#define TW_ATTR(ENUM, ident, spelling, numeric, max) "attr " #ENUM ";"
#include "attr.def"
#undef TW_ATTR
#define TW_HOOK(ENUM, ident, name) "hook " #ENUM ";"
#include "hook.def"
#undef TW_HOOK
#define TW_REASON(ENUM, text) "reason " #ENUM ";"
#include "reason.def"
#undef TW_REASON
#define TW_ERRNO(name, value) "errno " #name " " #value ";"
#define TW_ERRNO_ALIAS(name, value) "errno " #name " " #value ";"
#include "errno.def"
#undef TW_ERRNO
#undef TW_ERRNO_ALIAS
#define TW_GUARD(ENUM, ident, hook, text) "guard " #ENUM ";"
#include "guard.def"
#undef TW_GUARD
    "";

// FNV-1a, 64 bits.
constexpr uint64_t fingerprint(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

}  // namespace tw::vocab
