// SPDX-License-Identifier: Apache-2.0
#include "replay.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "vocab/catalogue.h"
#include "vocab/names.h"
#include "vocab/tw_abi.h"

namespace tw::compiler {
namespace {

bool refused(Outcome o) { return o != Outcome::allow; }

Change change_of(Outcome was, Outcome now) {
  if (was == now) return Change::same;
  if (!refused(was)) return Change::newly_refused;
  if (!refused(now)) return Change::newly_allowed;
  return Change::mode;
}

bool recorded_for(const RecordedEvent& r, int reason) { return r.reason == vocab::reason_text(reason); }

// The kernel refused for want of room in its own tables, which no policy decides: kept as it was.
bool capacity_refusal(const RecordedEvent& r) {
  for (int reason : {TW_R_TOKEN_MAP_FULL, TW_R_OBJECT_TABLE_FULL, TW_R_CREATOR_TABLE_FULL, TW_R_CREATOR_BUSY, TW_R_INCOMPLETE})
    if (recorded_for(r, reason)) return true;
  return false;
}

// The facts a recorded creation lacks.
std::set<Attr> unknown_facts(const RecordedEvent& r) {
  std::set<Attr> u = {Attr::bpffs, Attr::selinux_type, Attr::delegator_type};
  if (!r.cgroup_known) u.insert({Attr::cgroup_is, Attr::cgroup_under});
  if (!r.exe_known) u.insert(Attr::exe);
  return u;
}

// The candidate's first matching profile, when the known facts decide it: nullopt when a match
// clause before the deciding one (or the deciding one) rests on a fact the event lacks.
std::optional<const IrProfile*> label(const Ir& ir, const RecordedEvent& r, std::string& unknown) {
  const auto missing = unknown_facts(r);
  const Event& e = r.event;
  for (const auto& p : ir.profiles)
    for (const auto& c : p.match) {
      Conjunction known;
      std::string lacks;
      for (const auto& a : c.atoms) {
        if (missing.contains(a.attr)) lacks = std::string(attr_name(a.attr));
        else known.atoms.push_back(a);
      }
      if (!holds(known, e.creator, e.token)) continue;
      if (!lacks.empty()) {
        unknown = fmt::format("profile `{}` tests {}, which the recorded creation does not carry", p.name, lacks);
        return std::nullopt;
      }
      return &p;
    }
  return nullptr;
}

struct TokenState {
  Event created;  // the creation's facts, counts included
  bool decided = true;
  std::string why_not;
  uint32_t maps = 0, progs = 0;
};

}  // namespace

std::string_view change_name(Change c) {
  switch (c) {
    case Change::same: return "same";
    case Change::newly_refused: return "newly_refused";
    case Change::newly_allowed: return "newly_allowed";
    case Change::mode: return "mode";
  }
  return "?";
}

std::string event_what(const Event& e) {
  using vocab::EnumKind;
  switch (e.hook) {
    case Hook::token_create: return "token";
    case Hook::token_cmd: return "cmd " + vocab::name_or_number(EnumKind::cmd, e.cmd);
    case Hook::token_capable: return vocab::capability_name(e.cap);
    case Hook::map_create: return "map " + vocab::name_or_number(EnumKind::map, e.map.type);
    case Hook::prog_load:
      return "prog " + vocab::name_or_number(EnumKind::prog, e.prog.type) + " attach " +
             vocab::name_or_number(EnumKind::attach, e.prog.attach);
  }
  return "?";
}

ReplayReport replay(const Ir& ir, const EventLog& log) {
  ReplayReport rep;
  std::map<uint64_t, TokenState> tokens;
  std::map<std::tuple<Change, std::string, std::string, std::string, std::string>, size_t> group_of;
  for (const auto& r : log.events) {
    ReplayedEvent out{&r};
    if (r.verdict == Outcome::allow) ++rep.recorded_allowed;
    Event e = r.event;
    TokenState* t = nullptr;
    if (e.hook == Hook::token_create) {
      // The quota counts a refusal recorded; others are not in events (an allowed creation's).
      uint32_t before = r.value ? static_cast<uint32_t>(r.value - 1) : 0;
      if (recorded_for(r, TW_R_TOKENS_QUOTA)) e.tokens_live = before;
      if (recorded_for(r, TW_R_UID_TOKENS_QUOTA)) e.uid_tokens_live = before;
      if (recorded_for(r, TW_R_USERNS_TOKENS_QUOTA)) e.userns_tokens_live = before;
      e.shared_full = recorded_for(r, TW_R_TOKEN_SHARE_FULL);
      t = &(tokens[r.token] = TokenState{e});
      std::string unknown;
      if (auto p = label(ir, r, unknown); !p) {
        t->decided = false;
        t->why_not = unknown;
      }
    } else {
      auto it = tokens.find(r.token);
      if (it == tokens.end()) {
        out.why_not = "its token was created before the recording";
        ++rep.without_creation;
        rep.events.push_back(std::move(out));
        continue;
      }
      t = &it->second;
      Event c = t->created;
      c.hook = e.hook;
      c.cmd = e.cmd;
      c.cap = e.cap;
      c.map = e.map;
      c.prog = e.prog;
      c.maps_created = t->maps;
      c.progs_created = t->progs;
      uint32_t before = r.value ? static_cast<uint32_t>(r.value - 1) : 0;
      if (recorded_for(r, TW_R_MAPS_PROFILE_QUOTA)) c.maps_live = before;
      if (recorded_for(r, TW_R_PROGS_PROFILE_QUOTA)) c.progs_live = before;
      e = c;
    }
    if (!t->decided) {
      out.why_not = t->why_not;
      ++rep.undecidable;
      rep.events.push_back(std::move(out));
      continue;
    }
    out.decided = true;
    if (capacity_refusal(r)) {
      out.now = {r.verdict, r.profile, "", "kept: " + r.reason, 0};
    } else {
      out.now = evaluate(ir, e);
    }
    if (out.now.allowed() && !out.now.probe) {
      if (e.hook == Hook::map_create) ++t->maps;
      if (e.hook == Hook::prog_load) ++t->progs;
    }
    out.change = change_of(r.verdict, out.now.outcome);
    switch (out.change) {
      case Change::same: ++rep.same; break;
      case Change::newly_refused: ++rep.newly_refused; break;
      case Change::newly_allowed: ++rep.newly_allowed; break;
      case Change::mode: ++rep.mode; break;
    }
    if (out.change != Change::same) {
      std::string hook(hook_name(e.hook)), what = event_what(e);
      auto key = std::make_tuple(out.change, out.now.profile, out.now.rule, hook, what);
      auto [g, fresh] = group_of.emplace(key, rep.changes.size());
      if (fresh)
        rep.changes.push_back({out.change, out.now.profile, out.now.rule, hook, what, out.now.reason, r.verdict,
                               out.now.outcome, 0, r.time, r.time});
      ChangeGroup& cg = rep.changes[g->second];
      ++cg.count;
      cg.last = r.time;
    }
    rep.events.push_back(std::move(out));
  }
  return rep;
}

}  // namespace tw::compiler
