// SPDX-License-Identifier: Apache-2.0
#include "names.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "abi_pin.h"
#include "catalogue.h"

namespace tw::vocab {

namespace {
constexpr std::string_view kHookNames[] = {
#define TW_HOOK(ENUM, ident, name) name,
#include "hook.def"
#undef TW_HOOK
};
static_assert(std::size(kHookNames) == TW_HOOK_COUNT);

constexpr std::string_view kReasonTexts[] = {
#define TW_REASON(ENUM, text) text,
#include "reason.def"
#undef TW_REASON
};
static_assert(std::size(kReasonTexts) == TW_R_COUNT);

constexpr PolicyErrno kPolicyErrnos[] = {
#define TW_ERRNO(name, value) {#name, value, false},
#define TW_ERRNO_ALIAS(name, value) {#name, value, true},
#include "errno.def"
#undef TW_ERRNO
#undef TW_ERRNO_ALIAS
};
}  // namespace

std::string_view hook_name(int hook) {
  if (hook == TW_HOOK_GUARD) return "guard";
  return hook >= 0 && hook < TW_HOOK_COUNT ? kHookNames[hook] : "?";
}

namespace {
constexpr GuardOp kGuardOps[] = {
#define TW_GUARD(ENUM, ident, hook, text) {#ident, hook, text},
#include "guard.def"
#undef TW_GUARD
};
static_assert(std::size(kGuardOps) == TW_GUARD_COUNT);
}  // namespace

const GuardOp* guard_op(int op) { return op >= 0 && op < TW_GUARD_COUNT ? &kGuardOps[op] : nullptr; }
std::span<const GuardOp> guard_ops() { return kGuardOps; }

std::string_view reason_text(int reason) {
  return reason >= 0 && reason < TW_R_COUNT ? kReasonTexts[reason] : "?";
}

std::span<const PolicyErrno> policy_errnos() { return kPolicyErrnos; }

std::optional<int> policy_errno(std::string_view name) {
  std::string upper = to_upper(name);
  for (const auto& e : kPolicyErrnos)
    if (e.name == upper) return e.value;
  return std::nullopt;
}

bool policy_errno_accepted(int value) {
  return std::any_of(std::begin(kPolicyErrnos), std::end(kPolicyErrnos), [&](const auto& e) { return e.value == value; });
}

std::string policy_errno_names() {
  std::vector<std::string_view> names;
  for (const auto& e : kPolicyErrnos) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (auto n : names) (out += out.empty() ? "" : ", ") += n;
  return out;
}

std::string errno_name(int err) {
  // strerrorname_np is glibc >= 2.32; it returns null for unknown values.
  if (const char* name = strerrorname_np(err)) return name;
  return std::to_string(err);
}

}  // namespace tw::vocab
