// SPDX-License-Identifier: Apache-2.0
#include "analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace tw::compiler {
namespace {

bool is_string_set(Attr a) {
  return a == Attr::comm || a == Attr::exe || a == Attr::bpffs || attr_is_selinux(a) || a == Attr::cgroup_is;
}

bool path_under(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

bool disjoint(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) return false;
    a[i] < b[j] ? ++i : ++j;
  }
  return true;
}

// Does atom x (of the covering conjunction) hold whenever all of b's atoms hold?
bool implied(const Atom& x, const Conjunction& b) {
  for (const Atom& y : b.atoms) {
    if (attr_is_numeric(x.attr)) {
      if (y.attr == x.attr && y.ints.subset_of(x.ints)) return true;
    } else if (is_string_set(x.attr)) {
      if (y.attr != x.attr) continue;
      if (!x.negated && !y.negated && std::includes(x.strings.begin(), x.strings.end(), y.strings.begin(), y.strings.end()))
        return true;
      if (x.negated && !y.negated && disjoint(x.strings, y.strings)) return true;
      if (x.negated && y.negated && std::includes(y.strings.begin(), y.strings.end(), x.strings.begin(), x.strings.end()))
        return true;
    } else if (x.attr == Attr::cgroup_under) {
      if (x.negated) {
        if (y.attr == Attr::cgroup_under && y.negated && y.strings == x.strings) return true;
        continue;
      }
      const std::string& root = x.strings.empty() ? std::string("/") : x.strings[0];
      if (y.attr == Attr::cgroup_under && !y.negated && !y.strings.empty() && path_under(y.strings[0], root)) return true;
      if (y.attr == Attr::cgroup_is && !y.negated &&
          std::all_of(y.strings.begin(), y.strings.end(), [&](const std::string& s) { return path_under(s, root); }))
        return true;
    } else if (x.attr == Attr::delegates) {
      if (y.attr != Attr::delegates || y.kind != x.kind || y.negated != x.negated) continue;
      if (y.mask == x.mask && y.all == x.all) return true;
      if (!x.negated && y.all && (x.all ? (y.mask & x.mask) == x.mask : (y.mask & x.mask) != 0)) return true;
    }
  }
  return false;
}

uint32_t signature(const Conjunction& c) {
  uint32_t s = 0;
  for (const auto& a : c.atoms) s |= 1u << static_cast<unsigned>(a.attr);
  return s;
}

// "attr=value" for an atom that admits exactly one value, else "".
std::string exact_key(const Atom& a) {
  if (attr_is_numeric(a.attr) && a.ints.is_single())
    return fmt::format("{}={}", static_cast<int>(a.attr), a.ints.ranges()[0].first);
  if (is_string_set(a.attr) && !a.negated && a.strings.size() == 1)
    return fmt::format("{}={}", static_cast<int>(a.attr), a.strings[0]);
  return {};
}

struct Ref {
  const Conjunction* conj;
  const IrProfile* profile;
};

struct Group {
  uint32_t sig = 0;
  std::unordered_map<std::string, std::vector<Ref>> by_key;  // first atom exact
  std::vector<Ref> other;
};

class ShadowIndex {
 public:
  // The earlier profile whose alternatives cover `c`, or nullptr.
  const IrProfile* covering(const Conjunction& c, size_t& budget) {
    uint32_t sig = signature(c);
    for (auto& g : groups_) {
      if ((g.sig & ~sig) != 0) continue;
      if (g.sig == 0) return first_of(g);
      Attr first = static_cast<Attr>(__builtin_ctz(g.sig));
      std::string key;
      for (const auto& a : c.atoms)
        if (a.attr == first) key = exact_key(a);
      if (!key.empty())
        if (auto it = g.by_key.find(key); it != g.by_key.end())
          if (auto* p = scan(it->second, c, budget)) return p;
      if (auto* p = scan(g.other, c, budget)) return p;
    }
    return nullptr;
  }

  void add(const Conjunction& c, const IrProfile& p) {
    uint32_t sig = signature(c);
    auto it = std::find_if(groups_.begin(), groups_.end(), [&](const Group& g) { return g.sig == sig; });
    if (it == groups_.end()) {
      groups_.push_back(Group{sig, {}, {}});
      it = std::prev(groups_.end());
    }
    std::string key = c.atoms.empty() ? std::string() : exact_key(c.atoms.front());
    if (key.empty()) it->other.push_back({&c, &p});
    else it->by_key[key].push_back({&c, &p});
  }

  bool exhausted = false;

 private:
  static const IrProfile* first_of(const Group& g) {
    const IrProfile* best = nullptr;
    for (const auto& r : g.other)
      if (!best || r.profile->order < best->order) best = r.profile;
    return best;
  }

  const IrProfile* scan(const std::vector<Ref>& refs, const Conjunction& c, size_t& budget) {
    for (const auto& r : refs) {
      if (budget < r.conj->atoms.size() + 1) {
        exhausted = true;
        return nullptr;
      }
      budget -= r.conj->atoms.size() + 1;
      if (covers(*r.conj, c)) return r.profile;
    }
    return nullptr;
  }

  std::vector<Group> groups_;
};

// What earlier profiles match together on one numeric attribute: the union of every alternative
// that tests that attribute alone (`creator.uid < 1000` in one profile, `creator.uid >= 1000` in
// the next cover every uid). Disjoint intervals in a map: an insertion and a subset test cost
// O(log n) per interval, whatever the number of profiles.
class NumericUnion {
 public:
  void add(const IntervalSet& s, const IrProfile& p) {
    for (auto [lo, hi] : s.ranges()) {
      // Merge with every stored interval that overlaps or touches [lo, hi].
      auto it = spans_.upper_bound(lo);
      if (it != spans_.begin() && std::prev(it)->second >= (lo == 0 ? 0 : lo - 1)) --it;
      while (it != spans_.end() && (hi == UINT32_MAX || it->first <= hi + 1)) {
        lo = std::min(lo, it->first);
        hi = std::max(hi, it->second);
        it = spans_.erase(it);
      }
      spans_.emplace(lo, hi);
    }
    if (by_.empty() || by_.back() != &p) by_.push_back(&p);
  }
  bool covers(const IntervalSet& s) const {
    for (auto [lo, hi] : s.ranges()) {
      auto it = spans_.upper_bound(lo);
      if (it == spans_.begin() || std::prev(it)->second < hi) return false;
    }
    return !s.empty();
  }
  const std::vector<const IrProfile*>& by() const { return by_; }

 private:
  std::map<uint32_t, uint32_t> spans_;  // first -> last
  std::vector<const IrProfile*> by_;    // the profiles that contributed, in order
};

class UnionCover {
 public:
  // The union that covers `c` (an atom of `c` within it, or the whole range of its attribute:
  // then it covers any alternative), or nullptr.
  const NumericUnion* covering(const Conjunction& c) const {
    for (const auto& [attr, u] : unions_) {
      if (u.covers(IntervalSet::range(0, attr_max(attr)))) return &u;
      for (const auto& a : c.atoms)
        if (a.attr == attr && u.covers(a.ints)) return &u;
    }
    return nullptr;
  }
  void add(const Conjunction& c, const IrProfile& p) {
    if (c.atoms.size() == 1 && attr_is_numeric(c.atoms[0].attr)) unions_[c.atoms[0].attr].add(c.atoms[0].ints, p);
  }

 private:
  std::map<Attr, NumericUnion> unions_;
};

}  // namespace

bool covers(const Conjunction& a, const Conjunction& b) {
  return std::all_of(a.atoms.begin(), a.atoms.end(), [&](const Atom& x) { return implied(x, b); });
}

void analyse(const Ir& ir, const SourceSet& sources, Diagnostics& diags) {
  if (ir.profiles.empty() && !ir.default_allow && sources.size())
    diags.report(Code::W114, Span{0, 0, 0}, fmt::format("policy `{}` has no profiles: with `default deny` it refuses every BPF token on the host", ir.name))
        .hint("add the profiles of the workloads that need tokens; `load` refuses this policy without `--force`");
  ShadowIndex index;
  UnionCover unions;
  size_t budget = kShadowBudget;
  bool budget_reported = false;
  for (const auto& p : ir.profiles) {
    bool bpf_visible = std::any_of(p.match.begin(), p.match.end(), [](const Conjunction& c) {
      return std::none_of(c.atoms.begin(), c.atoms.end(), [](const Atom& a) { return attr_is_selinux(a.attr); });
    });
    if (!p.match.empty() && !bpf_visible)
      diags.report(Code::W112, p.span, fmt::format("profile `{}` matches only on SELinux types: the BPF LSM never labels a token with it", p.name))
          .hint("only the SELinux backend (`compile --emit cil`) enforces it; add an alternative the BPF LSM can see "
                "(`or creator.cgroup under ...`) to enforce it there too");
    if (p.match.empty()) {
      diags.report(Code::W102, p.span, fmt::format("profile `{}` can never match: its match clause contradicts itself", p.name))
          .hint("e.g. `creator.uid == 1 and creator.uid == 2`; check the `and`s and `not`s");
      continue;
    }
    const IrProfile* by = nullptr;
    const NumericUnion* by_union = nullptr;
    bool all_covered = true;
    for (const auto& c : p.match) {
      if (const IrProfile* q = index.covering(c, budget)) {
        if (!by || q->order < by->order) by = q;
      } else if (const NumericUnion* u = unions.covering(c)) {
        by_union = u;
      } else {
        all_covered = false;
        break;
      }
    }
    if (all_covered && by_union) {
      // Several earlier profiles together (W103 names up to three of them).
      const auto& names = by_union->by();
      std::string list;
      for (size_t i = 0; i < names.size() && i < 3; ++i) list += fmt::format("{}`{}`", i ? ", " : "", names[i]->name);
      if (names.size() > 3) list += fmt::format(" and {} more", names.size() - 3);
      auto& d = diags.report(Code::W103, p.span,
                             fmt::format("profile `{}` never labels a token: profiles {} come first and together "
                                         "match everything it matches",
                                         p.name, list));
      for (size_t i = 0; i < names.size() && i < 3; ++i)
        d.note(names[i]->span, fmt::format("profile `{}` is declared here", names[i]->name));
      d.hint("profiles are tried in order and the first match wins: move the narrower profile up");
    } else if (all_covered && by) {
      diags.report(Code::W103, p.span,
                   fmt::format("profile `{}` never labels a token: profile `{}` comes first and matches "
                               "everything it matches",
                               p.name, by->name))
          .note(by->span, fmt::format("profile `{}` is declared here", by->name))
          .hint("profiles are tried in order and the first match wins: move the narrower profile up");
    }
    if (index.exhausted && !budget_reported) {
      budget_reported = true;
      diags.report(Code::W113, p.span,
                   fmt::format("shadowing was checked up to profile `{}` only: the policy's match clauses need "
                               "more than {} comparisons",
                               p.name, kShadowBudget))
          .hint("profiles that test exact values (`creator.uid == N`, `creator.exe == PATH`) are checked quickly");
    }
    for (const auto& c : p.match) {
      index.add(c, p);
      unions.add(c, p);
    }
  }
}

}  // namespace tw::compiler
