// SPDX-License-Identifier: Apache-2.0
#include "events.h"

#include <fmt/core.h>
#include <time.h>

#include <cstring>

#include "vocab/catalogue.h"
#include "kernel/result.h"
#include "vocab/names.h"

namespace tw::tools {

namespace {

std::string what_of(const tw_event& e) {
  auto name = [](vocab::EnumKind k, uint32_t v) {
    return vocab::builtin_table(k).name_of(v).value_or(std::to_string(v));
  };
  switch (e.hook) {
    case TW_HOOK_TOKEN_CMD: return "cmd " + name(vocab::EnumKind::cmd, e.what);
    case TW_HOOK_TOKEN_CAPABLE:
      for (const auto& c : vocab::token_capabilities())
        if (c.value == static_cast<int>(e.what)) return std::string(c.name);
      return fmt::format("capability {}", e.what);
    case TW_HOOK_MAP_CREATE: return "map " + name(vocab::EnumKind::map, e.what);
    case TW_HOOK_PROG_LOAD:
      return "prog " + name(vocab::EnumKind::prog, e.what) + " attach " + name(vocab::EnumKind::attach, e.what2);
    case TW_HOOK_GUARD: {
      const vocab::GuardOp* op = vocab::guard_op(static_cast<int>(e.what));
      if (!op) return fmt::format("guard {}", e.what);
      bool inode = std::string_view(op->hook).rfind("inode_", 0) == 0;
      if (e.what == TW_GUARD_MODIFY_RETURN) return fmt::format("{} btf_id {}", op->ident, e.value);
      return fmt::format("{} {} {}", op->ident, inode ? "ino" : "id", e.value);
    }
    case TW_HOOK_TOKEN_CREATE:
      if (e.reason == TW_R_UID_TOKENS_QUOTA) return fmt::format("token uid {}", e.what);
      if (e.reason == TW_R_USERNS_TOKENS_QUOTA) return fmt::format("token userns {}", e.what);
      return "token";
    default: return "token";
  }
}

}  // namespace

uint64_t boot_to_real_ns() {
  timespec boot{}, real{};
  clock_gettime(CLOCK_MONOTONIC, &boot);
  clock_gettime(CLOCK_REALTIME, &real);
  return static_cast<uint64_t>((real.tv_sec - boot.tv_sec) * 1000000000LL + (real.tv_nsec - boot.tv_nsec));
}

EventView view_of(const tw_event& e, const std::map<uint64_t, std::string>& names, uint64_t boot_to_real) {
  EventView v;
  auto named = names.find(e.profile_id);
  v.profile = e.profile_id == 0 ? "-" : named != names.end() ? named->second : fmt::format("{:#x}", e.profile_id);
  v.verdict = e.verdict == TW_V_DENY ? "deny" : e.verdict == TW_V_AUDIT ? "audit" : "allow";
  uint64_t real_ns = e.ts_ns + boot_to_real;
  v.realtime_us = real_ns / 1000;
  std::time_t secs = static_cast<std::time_t>(real_ns / 1000000000ULL);
  char when[32];
  std::strftime(when, sizeof when, "%FT%T", std::gmtime(&secs));
  v.time = when;
  v.time_us = fmt::format("{}.{:06}Z", when, (real_ns / 1000) % 1000000);
  v.hook = vocab::hook_name(static_cast<int>(e.hook));
  v.what = what_of(e);
  v.comm.assign(e.comm, strnlen(e.comm, sizeof e.comm));
  v.reason = vocab::reason_text(static_cast<int>(e.reason));
  if (e.verdict != TW_V_ALLOW) v.err = vocab::errno_name(e.err);
  if (e.limit) v.limit = fmt::format(" ({} > {})", e.value, e.limit);
  return v;
}

std::string EventView::line(const tw_event& e) const {
  return fmt::format("{:<5} {:<17} {:<28} profile={} pid={} comm={} uid={} cgroup={}: {}{}{}", verdict, hook, what,
                     profile, e.tgid, comm, e.uid, e.cgroup_id, reason, limit, err.empty() ? "" : " [" + err + "]");
}

}  // namespace tw::tools
