// SPDX-License-Identifier: Apache-2.0
#include "bpf_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <map>
#include <tuple>

namespace tw::compiler {

namespace {

struct Fail {
  std::string message;
  std::string profile;  // the profile at fault, when one is
  std::string hint;
};

using AtomList = std::vector<tw_atom>;

tw_atom blank(Attr attr) {
  tw_atom a{};
  a.attr = static_cast<uint8_t>(attr);
  return a;
}

// Splits `values` into atoms of at most TW_MAX_VALUES each.
template <class T, class Fill>
std::vector<tw_atom> chunked(Attr attr, bool negated, const std::vector<T>& values, Fill fill) {
  std::vector<tw_atom> out;
  for (size_t i = 0; i < values.size(); i += TW_MAX_VALUES) {
    tw_atom a = blank(attr);
    a.negated = negated;
    for (size_t k = i; k < values.size() && k < i + TW_MAX_VALUES; ++k) fill(a, k - i, values[k]);
    a.count = static_cast<uint8_t>(std::min<size_t>(TW_MAX_VALUES, values.size() - i));
    out.push_back(a);
  }
  return out;
}

class Lowering {
 public:
  Lowering(const Ir& ir, const Resolver& r) : ir_(ir), resolve_(r) {}

  BpfTables run() {
    t_.name = ir_.name;
    t_.settings.default_allow = ir_.default_allow;
    t_.settings.preexisting = ir_.preexisting == Preexisting::allow  ? TW_PRE_ALLOW
                              : ir_.preexisting == Preexisting::deny ? TW_PRE_DENY
                                                                     : TW_PRE_PROFILE;
    if (const IrProfile* p = ir_.find(ir_.preexisting_profile)) t_.settings.preexisting_id = p->id;
    t_.settings.mode = mode_code(ir_.mode);
    t_.settings.err = ir_.deny_errno;
    for (const auto& p : ir_.profiles) profile(p);
    build_index();
    t_.settings.n_scan = static_cast<uint32_t>(t_.scan.size());
    t_.settings.n_conj = static_cast<uint32_t>(t_.conjs.size());
    t_.settings.n_profiles = static_cast<uint32_t>(t_.profiles.size());
    t_.settings.n_index = static_cast<uint32_t>(t_.index.size());
    t_.settings.unused_attrs = unused_attrs(t_.conjs);
    return std::move(t_);
  }

 private:
  static uint8_t mode_code(Mode m) {
    return m == Mode::enforce ? TW_MODE_ENFORCE : m == Mode::audit ? TW_MODE_AUDIT : TW_MODE_OFF;
  }

  void profile(const IrProfile& p) {
    tw_profile rec{};
    rec.id = p.id;
    rec.order = p.order;
    rec.refuse = p.refuse;
    rec.strict = p.strict;
    rec.reserve_tokens = p.limits.reserve_tokens;
    tw_rules& r = rec.rules;
    r.mode = mode_code(p.mode);
    r.sleepable_ok = p.limits.sleepable;
    r.probes_ok = p.limits.probes;
    r.err = p.deny_errno;
    r.forbidden_map_flags = p.limits.forbidden_map_flags;
    r.cmds = p.grants[GrantKind::cmd];
    r.maps = p.grants[GrantKind::map];
    r.progs = p.grants[GrantKind::prog];
    r.attachs = p.grants[GrantKind::attach];
    r.caps = p.grants[GrantKind::cap];
    static_assert(kLimitKinds == TW_LIM_COUNT && static_cast<int>(LimitKind::tokens) == TW_LIM_TOKENS &&
                      static_cast<int>(LimitKind::progs) == TW_LIM_PROGS &&
                      static_cast<int>(LimitKind::profile_progs) == TW_LIM_PROFILE_PROGS,
                  "LimitKind is enum tw_limit, in order");
    for (size_t k = 0; k < kLimitKinds; ++k) r.limits[k] = p.limits.value[k];
    auto groups = p.limits.type_groups();
    if (groups.size() > TW_MAX_TYPE_LIMITS)
      throw Fail{fmt::format("profile `{}`: its per-type map limits make {} groups of map types with different sizes; "
                             "the BPF backend holds {}",
                             p.name, groups.size(), TW_MAX_TYPE_LIMITS),
                 p.name, "give map types that may be alike the same limits, so that they share a group"};
    for (size_t i = 0; i < groups.size(); ++i)
      r.type_limits[i] = {groups[i].map_types, groups[i].value[0], groups[i].value[1], groups[i].value[2], 0};
    std::strncpy(rec.name, p.name.c_str(), sizeof rec.name - 1);
    t_.profiles.push_back(rec);
    for (const auto& c : p.match) conjunction(p, c);
  }

  void conjunction(const IrProfile& p, const Conjunction& c) {
    std::vector<AtomList> alts{AtomList{}};
    for (const auto& a : c.atoms) {
      if (attr_is_selinux(a.attr)) {
        t_.notes.push_back(fmt::format("profile `{}`: an alternative tests {}; only SELinux enforces it", p.name, attr_name(a.attr)));
        return;
      }
      std::vector<tw_atom> pieces;
      if (!atom(p, a, pieces)) return;  // can never hold on this host
      if (pieces.empty()) continue;     // always holds (every excluded value is absent here)
      if (pieces.size() == 1 || a.negated) {
        // One atom, or a conjunction of negated pieces: add all of them to every alternative.
        for (auto& alt : alts) alt.insert(alt.end(), pieces.begin(), pieces.end());
      } else {
        // A positive set larger than one atom holds: one alternative per piece.
        std::vector<AtomList> more;
        for (const auto& alt : alts)
          for (const auto& piece : pieces) {
            more.push_back(alt);
            more.back().push_back(piece);
          }
        alts = std::move(more);
      }
    }
    for (const auto& alt : alts) {
      if (alt.size() > TW_MAX_ATOMS)
        throw Fail{fmt::format("profile `{}`: an alternative needs {} atoms; the BPF backend holds {}", p.name,
                               alt.size(), TW_MAX_ATOMS),
                   p.name, "test fewer attributes in one `and`, or split the profile"};
      tw_conj rec{};
      rec.profile_id = p.id;
      rec.order = p.order;
      rec.n_atoms = static_cast<uint32_t>(alt.size());
      std::copy(alt.begin(), alt.end(), rec.atoms);
      t_.conjs.push_back(rec);
    }
  }

  // Fills `out` with the atoms for `a`; false when `a` can never hold on this host.
  bool atom(const IrProfile& p, const Atom& a, std::vector<tw_atom>& out) {
    switch (a.attr) {
      case Attr::uid:
      case Attr::gid:
      case Attr::userns_owner:
      case Attr::userns_depth: {
        std::vector<std::pair<uint32_t, uint32_t>> ranges = a.ints.ranges();
        if (ranges.empty()) return false;
        out = chunked(a.attr, false, ranges, [](tw_atom& x, size_t i, const std::pair<uint32_t, uint32_t>& r) {
          x.ranges[i] = {r.first, r.second};
        });
        return true;
      }
      case Attr::comm:
        out = chunked(a.attr, a.negated, a.strings, [](tw_atom& x, size_t i, const std::string& s) {
          std::strncpy(x.comm[i], s.c_str(), TW_COMM_LEN - 1);
        });
        return true;
      case Attr::exe:
      case Attr::bpffs:
      case Attr::cgroup_is:
      case Attr::cgroup_under: {
        std::vector<std::pair<uint64_t, uint64_t>> ids;
        for (const auto& s : a.strings) {
          Resolution r = resolve_one(a.attr, s);
          auto& id = r.id;
          if (id && a.attr == Attr::cgroup_under) {
            // {hash, level}: the programs compare the first `level` components of the creator's
            // cgroup path, so `under` holds at any depth below it; the create hook looks up
            // `under` keys at every level down to the deepest one a policy names.
            uint32_t level = cgroup_level(s);
            if (level >= TW_CGROUP_LEVELS)
              throw Fail{fmt::format("profile `{}`: creator.cgroup under \"{}\" is {} levels deep; the BPF "
                                     "backend holds cgroups at most {} levels deep", p.name, s, level,
                                     TW_CGROUP_LEVELS - 1),
                         p.name, "name a cgroup nearer the root"};
            id->second = level;
            t_.settings.under_levels = std::max(t_.settings.under_levels, level + 1);
          }
          std::string what = fmt::format("profile `{}`: {} \"{}\"", p.name, attr_name(a.attr), s);
          if (!r.warning.empty()) t_.notes.push_back(what + " " + r.warning);
          if (!r.info.empty()) t_.infos.push_back(what + ": " + r.info);
          if (id) ids.push_back(*id);
          else if (r.warning.empty()) t_.notes.push_back(what + " cannot be resolved on this host; that value never matches");
        }
        if (ids.empty()) return a.negated;  // nothing to exclude: always true; nothing to match: never
        out = chunked(a.attr, a.negated, ids, [](tw_atom& x, size_t i, const std::pair<uint64_t, uint64_t>& id) {
          x.ids[i][0] = id.first;
          x.ids[i][1] = id.second;
        });
        return true;
      }
      case Attr::delegates: {
        tw_atom x = blank(a.attr);
        x.negated = a.negated;
        x.kind = static_cast<uint8_t>(a.kind);
        x.all = a.all;
        x.mask = a.mask;
        out.push_back(x);
        return true;
      }
      case Attr::selinux_type:
      case Attr::delegator_type:
        return false;
    }
    return false;
  }

  // Components below the cgroup2 root: "/" is level 0, "/a/b" level 2 (paths are canonical).
  static uint32_t cgroup_level(const std::string& path) {
    return static_cast<uint32_t>(std::count_if(path.begin(), path.end(), [](char c) { return c == '/'; })) -
           (path == "/" ? 1 : 0);
  }

  Resolution resolve_one(Attr attr, const std::string& path) {
    const auto& f = attr == Attr::exe ? resolve_.exe : attr == Attr::bpffs ? resolve_.bpffs : resolve_.cgroup;
    return f ? f(path) : Resolution{};
  }

  // The exact values an atom admits (for the index), or nothing when it admits too many.
  static std::vector<std::pair<uint64_t, uint64_t>> exact_values(const tw_atom& a) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    if (a.negated) return out;
    switch (a.attr) {
      case TW_ATTR_UID:
      case TW_ATTR_GID:
      case TW_ATTR_USERNS_OWNER:
      case TW_ATTR_USERNS_DEPTH: {
        uint64_t total = 0;
        for (int i = 0; i < a.count; ++i) total += uint64_t(a.ranges[i].hi) - a.ranges[i].lo + 1;
        if (total > TW_MAX_VALUES) return {};
        for (int i = 0; i < a.count; ++i)
          for (uint64_t v = a.ranges[i].lo; v <= a.ranges[i].hi; ++v) out.emplace_back(v, 0);
        return out;
      }
      case TW_ATTR_COMM:
        for (int i = 0; i < a.count; ++i) {
          uint64_t v0, v1;
          std::memcpy(&v0, a.comm[i], 8);
          std::memcpy(&v1, a.comm[i] + 8, 8);
          out.emplace_back(v0, v1);
        }
        return out;
      case TW_ATTR_EXE:
      case TW_ATTR_BPFFS:
      case TW_ATTR_CGROUP_IS:
      case TW_ATTR_CGROUP_UNDER:
        for (int i = 0; i < a.count; ++i) out.emplace_back(a.ids[i][0], a.ids[i][1]);
        return out;
      default:
        return {};
    }
  }

  // The attributes no atom tests: bpf_token_create skips their lookups and the path walks they
  // need (tw_settings.unused_attrs).
  static uint32_t unused_attrs(const std::vector<tw_conj>& conjs) {
    static_assert(TW_ATTR_COUNT <= 32, "tw_settings.unused_attrs has a bit per attribute");
    uint32_t used = 0;
    for (const tw_conj& c : conjs)
      for (uint32_t k = 0; k < c.n_atoms && k < TW_MAX_ATOMS; ++k) used |= 1u << c.atoms[k].attr;
    return ((1u << TW_ATTR_COUNT) - 1) & ~used;
  }

  void build_index() {
    // Most selective first: an executable or a cgroup names one workload; a uid or depth many.
    static constexpr int preference[] = {TW_ATTR_EXE,  TW_ATTR_CGROUP_IS, TW_ATTR_BPFFS,        TW_ATTR_CGROUP_UNDER,
                                         TW_ATTR_COMM, TW_ATTR_UID,       TW_ATTR_USERNS_OWNER, TW_ATTR_GID,
                                         TW_ATTR_USERNS_DEPTH};
    std::map<std::tuple<uint32_t, uint64_t, uint64_t>, std::vector<uint32_t>> lists;
    for (uint32_t i = 0; i < t_.conjs.size(); ++i) {
      const tw_conj& c = t_.conjs[i];
      bool indexed = false;
      for (int attr : preference) {
        for (uint32_t k = 0; k < c.n_atoms && !indexed; ++k) {
          if (c.atoms[k].attr != attr) continue;
          auto values = exact_values(c.atoms[k]);
          if (values.empty()) continue;
          for (const auto& [v0, v1] : values) lists[{static_cast<uint32_t>(attr), v0, v1}].push_back(i);
          indexed = true;
        }
        if (indexed) break;
      }
      if (!indexed) t_.scan.push_back(i);
    }
    if (t_.scan.size() > TW_MAX_SCAN)
      throw Fail{fmt::format("{} match alternatives test no exact value (only ranges, negations or delegation "
                             "masks); the BPF backend tries at most {} one by one",
                             t_.scan.size(), TW_MAX_SCAN),
                 profile_named(t_.conjs[t_.scan[TW_MAX_SCAN]].profile_id),
                 "add an exact creator.exe, creator.cgroup, creator.comm or creator.uid to them"};
    for (const auto& [key, conjs] : lists) {
      if (conjs.size() > size_t(TW_CHUNK) * TW_MAX_CHUNKS)
        throw Fail{fmt::format("{} match alternatives share one exact value; the BPF backend holds {}", conjs.size(),
                               TW_CHUNK * TW_MAX_CHUNKS),
                   profile_named(t_.conjs[conjs[size_t(TW_CHUNK) * TW_MAX_CHUNKS]].profile_id),
                   "tell them apart by another exact value (creator.exe, creator.cgroup, creator.uid)"};
      for (size_t chunk = 0; chunk * TW_CHUNK < conjs.size(); ++chunk) {
        tw_index_key k{};
        k.attr = std::get<0>(key);
        k.chunk = static_cast<uint32_t>(chunk);
        k.v0 = std::get<1>(key);
        k.v1 = std::get<2>(key);
        tw_index_val v{};
        for (size_t i = chunk * TW_CHUNK; i < conjs.size() && i < (chunk + 1) * TW_CHUNK; ++i) v.conj[v.n++] = conjs[i];
        t_.index.emplace_back(k, v);
      }
    }
  }

  // The first profile past a limit, for the diagnostic's place.
  std::string profile_named(uint64_t id) const {
    for (const auto& p : ir_.profiles)
      if (p.id == id) return p.name;
    return {};
  }

  const Ir& ir_;
  const Resolver& resolve_;
  BpfTables t_;
};

}  // namespace

std::optional<BpfTables> lower_to_bpf(const Ir& ir, const Resolver& resolve, BpfBackendError& error) {
  try {
    return Lowering(ir, resolve).run();
  } catch (const Fail& f) {
    error.message = f.message;
    error.profile = f.profile;
    error.hint = f.hint;
    return std::nullopt;
  }
}

bool check_bpf_capacity(const Ir& ir, const SourceSet& sources, Diagnostics& diags) {
  // Every path resolves, each to an identity of its own: the most a host can make of the policy
  // (on a real host a path that does not resolve drops atoms, never adds them).
  std::unordered_map<std::string, uint64_t> ids;
  auto distinct = [&ids](const std::string& path) {
    auto [it, fresh] = ids.try_emplace(path, ids.size() + 1);
    return Resolution{std::pair<uint64_t, uint64_t>{it->second, 0}, {}, {}};
  };
  BpfBackendError error;
  if (lower_to_bpf(ir, Resolver{distinct, distinct, distinct}, error)) return true;
  Span at{sources.size() ? 0u : kNoFile, 0, 0};
  for (const auto& p : ir.profiles)
    if (p.name == error.profile) at = p.span;
  diags.report(Code::E033, at, "the BPF LSM backend cannot hold this policy: " + error.message).hint(error.hint);
  return false;
}

}  // namespace tw::compiler
