// SPDX-License-Identifier: Apache-2.0
#include "lower.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace tw::compiler {
namespace {

struct TooComplex {};

using Dnf = std::vector<Conjunction>;

Atom negate(Atom a) {
  if (attr_is_numeric(a.attr)) a.ints = a.ints.complement(attr_max(a.attr));
  else a.negated = !a.negated;
  return a;
}

bool is_string_set(Attr a) {
  return a == Attr::comm || a == Attr::exe || a == Attr::bpffs || attr_is_selinux(a) || a == Attr::cgroup_is;
}

std::vector<std::string> set_intersection(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool atom_less(const Atom& a, const Atom& b) {
  if (a.attr != b.attr) return a.attr < b.attr;
  if (a.negated != b.negated) return a.negated < b.negated;
  if (a.ints.ranges() != b.ints.ranges()) return a.ints.ranges() < b.ints.ranges();
  if (a.strings != b.strings) return a.strings < b.strings;
  if (a.kind != b.kind) return a.kind < b.kind;
  if (a.mask != b.mask) return a.mask < b.mask;
  return a.all < b.all;
}

bool atom_equal(const Atom& a, const Atom& b) { return !atom_less(a, b) && !atom_less(b, a); }

// Merges atoms of one attribute; false when the conjunction can never hold.
bool simplify(Conjunction& c) {
  std::vector<Atom> out;
  std::sort(c.atoms.begin(), c.atoms.end(), atom_less);
  for (size_t i = 0; i < c.atoms.size();) {
    Attr attr = c.atoms[i].attr;
    size_t j = i;
    while (j < c.atoms.size() && c.atoms[j].attr == attr) ++j;
    if (attr_is_numeric(attr)) {
      Atom merged = c.atoms[i];
      for (size_t k = i + 1; k < j; ++k) merged.ints = merged.ints.intersect(c.atoms[k].ints);
      if (merged.ints.empty()) return false;
      if (!(merged.ints == IntervalSet::range(0, attr_max(attr)))) out.push_back(std::move(merged));
    } else if (is_string_set(attr)) {
      const Atom* pos = nullptr;
      Atom positive, negative;
      std::vector<std::string> excluded;
      for (size_t k = i; k < j; ++k) {
        const Atom& a = c.atoms[k];
        if (a.negated) {
          if (!negative.span.valid()) negative = a;
          excluded.insert(excluded.end(), a.strings.begin(), a.strings.end());
        } else if (!pos) {
          positive = a;
          pos = &a;
        } else {
          positive.strings = set_intersection(positive.strings, a.strings);
        }
      }
      std::sort(excluded.begin(), excluded.end());
      excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
      if (pos) {
        std::vector<std::string> kept;
        std::set_difference(positive.strings.begin(), positive.strings.end(), excluded.begin(), excluded.end(),
                            std::back_inserter(kept));
        if (kept.empty()) return false;
        positive.strings = std::move(kept);
        out.push_back(std::move(positive));
      } else if (!excluded.empty()) {
        negative.strings = std::move(excluded);
        out.push_back(std::move(negative));
      }
    } else {
      for (size_t k = i; k < j; ++k)
        if (out.empty() || !atom_equal(out.back(), c.atoms[k])) out.push_back(c.atoms[k]);
      // `delegates all M` and `not delegates any M'` with M & M' contradict.
      if (attr == Attr::delegates) {
        for (size_t a = i; a < j; ++a)
          for (size_t b = i; b < j; ++b) {
            const Atom& x = c.atoms[a];
            const Atom& y = c.atoms[b];
            if (!x.negated && x.all && y.negated && !y.all && x.kind == y.kind && (x.mask & y.mask)) return false;
          }
      }
    }
    i = j;
  }
  c.atoms = std::move(out);
  return true;
}

void push_unique(Dnf& d, Conjunction c) {
  for (const auto& e : d)
    if (e.atoms.size() == c.atoms.size() && std::equal(e.atoms.begin(), e.atoms.end(), c.atoms.begin(), atom_equal))
      return;
  d.push_back(std::move(c));
}

Dnf product(const Dnf& a, const Dnf& b) {
  Dnf out;
  for (const auto& x : a)
    for (const auto& y : b) {
      Conjunction c = x;
      c.atoms.insert(c.atoms.end(), y.atoms.begin(), y.atoms.end());
      if (!simplify(c)) continue;
      push_unique(out, std::move(c));
      if (out.size() > kMaxConjunctions) throw TooComplex{};
    }
  return out;
}

Dnf dnf(const CheckedExpr& e, bool negated) {
  using K = CheckedExpr::Kind;
  switch (e.kind) {
    case K::any:
      return negated ? Dnf{} : Dnf{Conjunction{}};
    case K::predicate: {
      Conjunction c{{negated ? negate(e.atom) : e.atom}};
      if (!simplify(c)) return {};
      return {std::move(c)};
    }
    case K::negation:
      return dnf(e.children.at(0), !negated);
    case K::all_of:
    case K::any_of: {
      bool conjunctive = (e.kind == K::all_of) != negated;
      Dnf acc = conjunctive ? Dnf{Conjunction{}} : Dnf{};
      for (const auto& child : e.children) {
        Dnf d = dnf(child, negated);
        if (conjunctive) {
          acc = product(acc, d);
          if (acc.empty()) return acc;
        } else {
          for (auto& c : d) push_unique(acc, std::move(c));
          if (acc.size() > kMaxConjunctions) throw TooComplex{};
        }
      }
      return acc;
    }
  }
  return {};
}

}  // namespace

Ir lower(const CheckedPolicy& policy, const SourceSet& sources, Diagnostics& diags, IdentityFn identity) {
  Ir ir;
  static_cast<PolicySettings&>(ir) = policy;
  ir.rules = policy.rules;
  ir.profiles.reserve(policy.profiles.size());
  std::unordered_map<uint64_t, size_t> ids;
  for (const auto& p : policy.profiles) {
    IrProfile out;
    out.name = p.name;
    out.id = identity(p.name);
    out.order = static_cast<uint32_t>(ir.profiles.size());
    out.refuse = p.refuse;
    out.strict = p.strict;
    out.mode = p.mode.value_or(policy.mode);
    out.deny_errno = p.deny_errno.value_or(policy.deny_errno);
    out.grants = p.grants;
    out.grant_refs = p.grant_refs;
    out.limits = p.limits;
    out.where = sources.where(p.name_span);
    out.span = p.name_span;
    if (p.match) {
      try {
        out.match = dnf(*p.match, false);
      } catch (const TooComplex&) {
        diags.report(Code::E020, p.match->span,
                     fmt::format("the match clause of profile `{}` expands to more than {} alternatives", p.name,
                                 kMaxConjunctions))
            .hint("split the profile in two, or replace `(a or b) and (c or d) ...` chains by `in` lists");
      }
    }
    auto [it, fresh] = ids.emplace(out.id, ir.profiles.size());
    if (!fresh && ir.profiles[it->second].name != out.name)
      diags.report(Code::E028, p.name_span,
                   fmt::format("profiles `{}` and `{}` hash to the same identity", p.name, ir.profiles[it->second].name))
          .note(ir.profiles[it->second].span, "the other profile")
          .hint("rename one of them");
    ir.profiles.push_back(std::move(out));
  }
  return ir;
}

}  // namespace tw::compiler
