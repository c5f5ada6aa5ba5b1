// SPDX-License-Identifier: Apache-2.0
#include "evaluator.h"

#include <fmt/format.h>

#include "vocab/names.h"
#include "vocab/policy_tables.h"

static_assert(TW_PROBE_PROG_TYPE == tw::vocab::prog::SOCKET_FILTER && TW_PROBE_MAP_TYPE == tw::vocab::map::ARRAY &&
                  TW_PROBE_ATTACH_TYPE == tw::vocab::attach::CGROUP_INET_INGRESS,
              "the probe shapes in tw_abi.h are the catalogue's values");

#include <algorithm>

namespace tw::compiler {

#define TW_HOOK(ENUM, ident, name) \
  static_assert(static_cast<int>(Hook::ident) == TW_HOOK_##ENUM, "Hook::" #ident " is not TW_HOOK_" #ENUM);
#include "vocab/hook.def"
#undef TW_HOOK

std::string_view hook_name(Hook h) { return vocab::hook_name(static_cast<int>(h)); }

std::optional<Hook> hook_from_name(std::string_view s) {
  std::string l = vocab::to_lower(s);
  if (l.rfind("bpf_", 0) == 0) l = l.substr(4);
  for (int i = 0; i < TW_HOOK_COUNT; ++i)
    if (hook_name(static_cast<Hook>(i)).substr(4) == l) return static_cast<Hook>(i);
  return std::nullopt;
}

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::allow: return "allow";
    case Outcome::deny: return "deny";
    case Outcome::audit: return "audit";
  }
  return "allow";
}

namespace {

bool path_under(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

uint64_t delegated(const TokenFacts& t, vocab::EnumKind k) {
  switch (k) {
    case vocab::EnumKind::cmd: return t.cmds;
    case vocab::EnumKind::map: return t.maps;
    case vocab::EnumKind::prog: return t.progs;
    case vocab::EnumKind::attach: return t.attachs;
  }
  return 0;
}

bool in(const std::vector<std::string>& set, const std::string& v) { return std::binary_search(set.begin(), set.end(), v); }

// nullopt: the atom cannot be decided (an SELinux type the BPF LSM does not see).
std::optional<bool> atom_holds(const Atom& a, const Creator& c, const TokenFacts& t) {
  switch (a.attr) {
    case Attr::uid: return a.ints.contains(c.uid);
    case Attr::gid: return a.ints.contains(c.gid);
    case Attr::userns_owner: return a.ints.contains(t.userns_owner);
    case Attr::userns_depth: return a.ints.contains(t.userns_depth);
    case Attr::comm: return in(a.strings, c.comm) != a.negated;
    case Attr::exe: return in(a.strings, c.exe) != a.negated;
    case Attr::bpffs: return in(a.strings, t.bpffs) != a.negated;
    case Attr::cgroup_is: return in(a.strings, c.cgroup) != a.negated;
    case Attr::selinux_type:
      if (!c.selinux_type) return std::nullopt;
      return in(a.strings, *c.selinux_type) != a.negated;
    case Attr::delegator_type:
      if (!t.delegator_type) return std::nullopt;
      return in(a.strings, *t.delegator_type) != a.negated;
    case Attr::cgroup_under:
      return std::any_of(a.strings.begin(), a.strings.end(), [&](const std::string& r) { return path_under(c.cgroup, r); }) !=
             a.negated;
    case Attr::delegates: {
      uint64_t m = delegated(t, a.kind) & a.mask;
      bool v = a.all ? m == a.mask : m != 0;
      return v != a.negated;
    }
  }
  return false;
}

std::string name_of(vocab::EnumKind k, uint32_t v) { return vocab::name_or_number(k, v); }
std::string cap_name(int cap) { return vocab::capability_name(cap); }

// Builds decisions for one profile (or the defaults) in its mode.
struct Judge {
  Mode mode;
  int err;
  std::string profile;

  Decision allow(std::string rule, std::string reason) const {
    return {Outcome::allow, profile, std::move(rule), std::move(reason), 0};
  }
  Decision refuse(std::string rule, std::string reason) const {
    if (mode == Mode::off) return {Outcome::allow, profile, std::move(rule), reason + " (mode off: not enforced)", 0};
    if (mode == Mode::audit) return {Outcome::audit, profile, std::move(rule), reason + " (mode audit: logged, allowed)", err};
    return {Outcome::deny, profile, std::move(rule), std::move(reason), err};
  }
};

Judge judge_for(const IrProfile& p) { return {p.mode, p.deny_errno, p.name}; }

// The first rule of `p` that grants `bit` of kind `k`, or kNoRule.
uint32_t rule_for(const IrProfile& p, GrantKind k, uint32_t bit) {
  for (const auto& r : p.grant_refs)
    if (r.kind == k && bit < 64 && (r.mask & (1ULL << bit))) return r.rule;
  return kNoRule;
}

// Checks one granted bit; nullopt when granted.
std::optional<Decision> need(const IrProfile& p, GrantKind k, uint32_t bit, const std::string& what) {
  if (bit < 64 && (p.grants[k] & (1ULL << bit))) return std::nullopt;
  return judge_for(p).refuse(p.where, fmt::format("profile `{}` does not allow {}", p.name, what));
}

std::optional<Decision> check_limit(const Ir& ir, const IrProfile& p, LimitKind k, uint64_t value, const std::string& what) {
  uint32_t limit = p.limits[k];
  if (limit == kUnlimited || value <= limit) return std::nullopt;
  return judge_for(p).refuse(ir.where(p.limits.rule[static_cast<size_t>(k)]),
                             fmt::format("{} {} exceeds `{}` of profile `{}`", what, value, limit_statement(k, limit), p.name));
}

// A size of a map of `type` (limit_is_map_size(k)), against its per-type limit or the profile's.
std::optional<Decision> check_size(const Ir& ir, const IrProfile& p, LimitKind k, uint32_t type, uint64_t value) {
  AppliedLimit l = p.limits.for_map(k, type);
  if (l.value == kUnlimited || value <= l.value) return std::nullopt;
  std::string limit = l.per_type ? fmt::format("limit {} {} for map {}", limit_name(k), l.value, name_of(vocab::EnumKind::map, type))
                                 : limit_statement(k, l.value);
  return judge_for(p).refuse(ir.where(l.rule), fmt::format("{} {} exceeds `{}` of profile `{}`", limit_name(k), value, limit, p.name));
}

// A token the policy lets be created still needs a slot of the token table: one of its profile's
// reserved ones while it has fewer live tokens than it reserves, else a shared one. None left
// fails closed, whatever the mode.
Decision with_slot(const Event& e, const IrProfile* p, Decision d) {
  if (!d.allowed() || !e.shared_full) return d;
  uint32_t reserved = p ? p->limits.reserve_tokens : 0;
  if (e.tokens_live < reserved) return d;
  return {Outcome::deny, p ? p->name : "", "",
          reserved ? fmt::format("the token table's shared slots are all taken, and profile `{}` holds its {} reserved "
                                 "ones (fails closed)",
                                 p->name, reserved)
                   : "the token table's shared slots are all taken (fails closed)",
          ENOSPC};
}

Decision token_create_verdict(const Ir& ir, const Event& e, const IrProfile* p);

Decision token_create(const Ir& ir, const Event& e, const IrProfile* p) {
  return with_slot(e, p, token_create_verdict(ir, e, p));
}

Decision token_create_verdict(const Ir& ir, const Event& e, const IrProfile* p) {
  if (!p) {
    if (ir.default_allow) return {Outcome::allow, "", "", "no profile matches; the policy's default is allow (token unconfined)", 0};
    return Judge{ir.mode, ir.deny_errno, ""}.refuse("", "no profile matches and the policy's default is deny");
  }
  Judge j = judge_for(*p);
  if (p->refuse) return j.refuse(p->where, fmt::format("profile `{}` refuses tokens", p->name));
  if (p->strict) {
    std::string excess;
    auto check = [&](GrantKind g, vocab::EnumKind k, uint64_t have) {
      // What libbpf's probes need delegated is not "more" for a profile that allows them.
      uint64_t probes = !p->limits.probes               ? 0
                        : g == GrantKind::prog           ? TW_PROBE_PROGS
                        : g == GrantKind::attach         ? TW_PROBE_ATTACHS
                        : g == GrantKind::map            ? TW_PROBE_MAPS
                                                         : 0;
      uint64_t extra = have & ~(p->grants[g] | probes);
      if (extra) excess += fmt::format("{}{} {}", excess.empty() ? "" : "; ", vocab::option_suffix(k), mask_names(k, extra));
    };
    check(GrantKind::cmd, vocab::EnumKind::cmd, e.token.cmds);
    check(GrantKind::map, vocab::EnumKind::map, e.token.maps);
    check(GrantKind::prog, vocab::EnumKind::prog, e.token.progs);
    check(GrantKind::attach, vocab::EnumKind::attach, e.token.attachs);
    if (!excess.empty())
      return j.refuse(p->where, fmt::format("profile `{}` is strict and the bpffs delegates more than it grants ({})", p->name, excess));
  }
  if (auto d = check_limit(ir, *p, LimitKind::tokens, static_cast<uint64_t>(e.tokens_live) + 1, "live token number")) return *d;
  if (auto d = check_limit(ir, *p, LimitKind::uid_tokens, static_cast<uint64_t>(e.uid_tokens_live) + 1,
                           fmt::format("uid {}'s live token number", e.creator.uid)))
    return *d;
  if (auto d = check_limit(ir, *p, LimitKind::userns_tokens, static_cast<uint64_t>(e.userns_tokens_live) + 1,
                           "the user namespace's live token number"))
    return *d;
  return j.allow(p->where, fmt::format("labelled with profile `{}`", p->name));
}

Decision token_use(const Ir& ir, const IrProfile& p, const Event& e) {
  Judge j = judge_for(p);
  auto granted = [&](GrantKind k, uint32_t bit, std::string what) {
    uint32_t r = rule_for(p, k, bit);
    if (r >= ir.rules.size()) return j.allow(p.where, fmt::format("profile `{}` allows {}", p.name, what));
    return j.allow(ir.rules[r].where, fmt::format("profile `{}` allows {} ({})", p.name, what, ir.rules[r].text));
  };
  auto within = [&](LimitKind k, uint64_t value, const std::string& what) {
    return check_limit(ir, p, k, value, what);
  };
  auto probe = [&](const std::string& what) {
    Decision d = j.allow(ir.where(p.limits.probes_rule), fmt::format("profile `{}` allows libbpf's probes: {}", p.name, what));
    d.probe = true;
    return d;
  };
  switch (e.hook) {
    case Hook::token_cmd: {
      std::string what = "command " + name_of(vocab::EnumKind::cmd, e.cmd);
      if (auto d = need(p, GrantKind::cmd, e.cmd, what)) {
        d->reason += "; the kernel then ignores the token and the call fails with EPERM";
        return *d;
      }
      return granted(GrantKind::cmd, e.cmd, what);
    }
    case Hook::token_capable: {
      std::string what = cap_name(e.cap);
      if (e.cap < 0 || e.cap >= 64) return j.refuse(p.where, fmt::format("profile `{}` does not allow {}", p.name, what));
      if (auto d = need(p, GrantKind::cap, static_cast<uint32_t>(e.cap), what)) return *d;
      return granted(GrantKind::cap, static_cast<uint32_t>(e.cap), what);
    }
    case Hook::map_create: {
      // The token reaches bpf_map_create only if bpf_token_cmd let map_create through.
      if (auto d = need(p, GrantKind::cmd, 0, "command map_create")) return *d;
      // The shape of libbpf's probe maps (tw_abi.h), within the profile's forbidden flags.
      if (p.limits.probes && e.map.type == TW_PROBE_MAP_TYPE && e.map.max_entries == 1 && e.map.key_size == 4 &&
          e.map.value_size <= TW_PROBE_VALUE_SIZE && !(e.map.flags & p.limits.forbidden_map_flags))
        return probe("a one-entry array map");
      std::string type = "map type " + name_of(vocab::EnumKind::map, e.map.type);
      if (auto d = need(p, GrantKind::map, e.map.type, type)) return *d;
      if (auto d = check_size(ir, p, LimitKind::max_entries, e.map.type, e.map.max_entries)) return *d;
      if (auto d = check_size(ir, p, LimitKind::key_size, e.map.type, e.map.key_size)) return *d;
      if (auto d = check_size(ir, p, LimitKind::value_size, e.map.type, e.map.value_size)) return *d;
      if (uint32_t bad = e.map.flags & p.limits.forbidden_map_flags) {
        std::string names;
        for (const auto& f : vocab::map_flags())
          if (bad & (1u << f.bit)) names += (names.empty() ? "" : ", ") + vocab::to_lower(f.name);
        return j.refuse(ir.where(p.limits.map_flags_rule), fmt::format("profile `{}` forbids map flags {}", p.name, names));
      }
      if (auto d = within(LimitKind::maps, static_cast<uint64_t>(e.maps_created) + 1, "map number")) return *d;
      if (auto d = within(LimitKind::profile_maps, static_cast<uint64_t>(e.maps_live) + 1, "live map number")) return *d;
      return granted(GrantKind::map, e.map.type, type);
    }
    case Hook::prog_load: {
      if (auto d = need(p, GrantKind::cmd, 5, "command prog_load")) return *d;
      if (p.limits.probes && e.prog.type == TW_PROBE_PROG_TYPE && e.prog.attach == TW_PROBE_ATTACH_TYPE &&
          e.prog.insns <= TW_PROBE_INSNS &&
          !e.prog.sleepable)
        return probe(fmt::format("a socket filter of {} instructions", e.prog.insns));
      std::string type = "program type " + name_of(vocab::EnumKind::prog, e.prog.type);
      if (auto d = need(p, GrantKind::prog, e.prog.type, type)) return *d;
      if (auto d = need(p, GrantKind::attach, e.prog.attach, "attach type " + name_of(vocab::EnumKind::attach, e.prog.attach)))
        return *d;
      if (auto d = within(LimitKind::insns, e.prog.insns, "instruction count")) return *d;
      if (e.prog.sleepable && !p.limits.sleepable)
        return j.refuse(ir.where(p.limits.sleepable_rule), fmt::format("profile `{}` forbids sleepable programs", p.name));
      if (auto d = within(LimitKind::progs, static_cast<uint64_t>(e.progs_created) + 1, "program number")) return *d;
      if (auto d = within(LimitKind::profile_progs, static_cast<uint64_t>(e.progs_live) + 1, "live program number")) return *d;
      return granted(GrantKind::prog, e.prog.type, type);
    }
    case Hook::token_create: break;
  }
  return j.allow(p.where, "");
}

}  // namespace

bool holds(const Conjunction& c, const Creator& creator, const TokenFacts& token) {
  for (const auto& a : c.atoms) {
    auto v = atom_holds(a, creator, token);
    if (!v || !*v) return false;
  }
  return true;
}

const IrProfile* first_match(const Ir& ir, const Creator& creator, const TokenFacts& token) {
  for (const auto& p : ir.profiles)
    for (const auto& c : p.match)
      if (holds(c, creator, token)) return &p;
  return nullptr;
}

Decision evaluate(const Ir& ir, const Event& e) {
  if (e.hook == Hook::token_create) return token_create(ir, e, first_match(ir, e.creator, e.token));

  const IrProfile* label = nullptr;
  if (e.preexisting) {
    switch (ir.preexisting) {
      case Preexisting::allow:
        return {Outcome::allow, "", "", "the token predates the policy; `preexisting allow`", 0};
      case Preexisting::deny:
        return Judge{ir.mode, ir.deny_errno, ""}.refuse("", "the token predates the policy; `preexisting deny`");
      case Preexisting::profile:
        label = ir.find(ir.preexisting_profile);
        if (!label) return {Outcome::deny, "", "", "preexisting profile missing", ir.deny_errno};
        break;
    }
  } else {
    label = first_match(ir, e.creator, e.token);
    Decision created = token_create(ir, e, label);
    if (created.outcome == Outcome::deny)
      return {Outcome::deny, created.profile, created.rule, "the token cannot exist: " + created.reason, created.err};
    if (!label) {
      // Unconfined (default allow), or let through by a default deny in audit/off mode.
      if (created.outcome == Outcome::audit)
        return Judge{ir.mode, ir.deny_errno, ""}.refuse("", "the token matches no profile and the default is deny");
      return {Outcome::allow, "", "", created.reason, 0};
    }
  }
  if (label->mode == Mode::off) return {Outcome::allow, label->name, label->where, fmt::format("profile `{}` is in mode off", label->name), 0};
  return token_use(ir, *label, e);
}

}  // namespace tw::compiler
