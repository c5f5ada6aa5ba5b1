// SPDX-License-Identifier: Apache-2.0
#include "events.h"

#include <fmt/core.h>
#include <linux/bpf.h>
#include <time.h>

#include <cstring>

#include "vocab/catalogue.h"
#include "kernel/resolve.h"
#include "kernel/result.h"
#include "vocab/names.h"

namespace tw::tools {

namespace {

std::string what_of(const tw_event& e) {
  auto name = [](vocab::EnumKind k, uint32_t v) { return vocab::name_or_number(k, v); };
  switch (e.hook) {
    case TW_HOOK_TOKEN_CMD: return "cmd " + name(vocab::EnumKind::cmd, e.what);
    case TW_HOOK_TOKEN_CAPABLE: return vocab::capability_name(static_cast<int>(e.what));
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

std::optional<std::string> CreatorResolver::cgroup(uint64_t id) {
  if (auto it = cgroups_.find(id); it != cgroups_.end()) return it->second;
  auto path = kernel::cgroup_path_of_id(id);
  if (path && cgroups_.size() < 65536) cgroups_.emplace(id, *path);
  return path;
}

std::optional<std::string> CreatorResolver::exe(uint32_t tgid) { return kernel::exe_of_process(tgid); }

namespace {

nlohmann::json json_name(vocab::EnumKind k, uint64_t v) {
  auto n = vocab::builtin_table(k).name_of(static_cast<uint32_t>(v));
  return n ? nlohmann::json(*n) : nlohmann::json(v);
}

nlohmann::json names_of_mask(vocab::EnumKind k, uint64_t mask) {
  nlohmann::json a = nlohmann::json::array();
  for (uint32_t b = 0; b < 64; ++b)
    if (mask & (1ULL << b)) a.push_back(json_name(k, b));
  return a;
}

nlohmann::json request_of(const tw_event& e) {
  switch (e.hook) {
    case TW_HOOK_TOKEN_CREATE:
      return {{"delegates",
               {{"cmds", names_of_mask(vocab::EnumKind::cmd, e.delegates[0])},
                {"maps", names_of_mask(vocab::EnumKind::map, e.delegates[1])},
                {"progs", names_of_mask(vocab::EnumKind::prog, e.delegates[2])},
                {"attachs", names_of_mask(vocab::EnumKind::attach, e.delegates[3])}}},
              {"userns_owner", e.userns_owner},
              {"userns_depth", e.userns_depth}};
    case TW_HOOK_TOKEN_CMD: return {{"cmd", json_name(vocab::EnumKind::cmd, e.what)}};
    case TW_HOOK_TOKEN_CAPABLE: {
      for (const auto& c : vocab::token_capabilities())
        if (c.value == static_cast<int>(e.what)) return {{"capability", c.name}};
      return {{"capability", e.what}};
    }
    case TW_HOOK_MAP_CREATE:
      return {{"map", json_name(vocab::EnumKind::map, e.what)}, {"max_entries", e.max_entries},
              {"key_size", e.key_size}, {"value_size", e.value_size}, {"flags", e.what2}};
    case TW_HOOK_PROG_LOAD:
      return {{"prog", json_name(vocab::EnumKind::prog, e.what)}, {"attach", json_name(vocab::EnumKind::attach, e.what2)},
              {"insns", e.insns}, {"sleepable", (e.prog_flags & BPF_F_SLEEPABLE) != 0}};
    default: return nullptr;
  }
}

}  // namespace

nlohmann::json event_json(const tw_event& e, const EventView& v, CreatorResolver& creators) {
  nlohmann::json j = {{"time", v.time_us},
                      {"verdict", v.verdict},
                      {"hook", v.hook},
                      {"what", v.what},
                      {"profile", v.profile},
                      {"reason", v.reason},
                      {"pid", e.pid}, {"tgid", e.tgid}, {"comm", v.comm}, {"uid", e.uid}, {"gid", e.gid},
                      {"cgroup_id", e.cgroup_id}, {"token", fmt::format("{:#x}", e.token)}};
  j["errno"] = v.err.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.err);
  j["value"] = e.limit ? nlohmann::json(e.value) : nlohmann::json(nullptr);
  j["limit"] = e.limit ? nlohmann::json(e.limit) : nlohmann::json(nullptr);
  j["request"] = request_of(e);
  if (e.hook == TW_HOOK_TOKEN_CREATE) {
    auto cg = creators.cgroup(e.cgroup_id);
    auto exe = creators.exe(e.tgid);
    j["cgroup"] = cg ? nlohmann::json(*cg) : nlohmann::json(nullptr);
    j["exe"] = exe ? nlohmann::json(*exe) : nlohmann::json(nullptr);
  } else {
    j["cgroup"] = nullptr;
    j["exe"] = nullptr;
  }
  return j;
}

}  // namespace tw::tools
