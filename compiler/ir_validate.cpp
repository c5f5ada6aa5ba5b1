// SPDX-License-Identifier: Apache-2.0
#include "ir_validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "checker.h"
#include "vocab/names.h"

namespace tw::compiler {

namespace {

class Validator {
 public:
  explicit Validator(const Ir& ir) : ir_(ir) {}

  std::vector<IrProblem> run() {
    if (ir_.name.empty()) at(1, "the policy has no name");
    errno_ok(1, "the policy's", ir_.deny_errno);
    if (ir_.preexisting == Preexisting::profile && !ir_.find(ir_.preexisting_profile))
      at(1, fmt::format("`preexisting profile {}` names no profile of the policy", ir_.preexisting_profile));
    std::set<uint64_t> ids;
    std::set<std::string> names;
    for (size_t i = 0; i < ir_.profiles.size(); ++i) {
      const IrProfile& p = ir_.profiles[i];
      uint32_t line = static_cast<uint32_t>(i + 2);
      if (p.name.empty()) at(line, "a profile has no name");
      if (!ids.insert(p.id).second || !names.insert(p.name).second)
        at(line, fmt::format("profile `{}` (identity {:#x}) appears twice", p.name, p.id));
      errno_ok(line, fmt::format("profile `{}`:", p.name), p.deny_errno);
      for (const auto& c : p.match)
        for (const auto& a : c.atoms) atom(line, p, a);
      // Per-type limits: a map type has one value per kind (the checker's E019).
      for (size_t a = 0; a < p.limits.per_type.size(); ++a)
        for (size_t b = a + 1; b < p.limits.per_type.size(); ++b) {
          const TypeLimit &x = p.limits.per_type[a], &y = p.limits.per_type[b];
          if (x.kind == y.kind && (x.map_types & y.map_types) && x.value != y.value)
            at(line, fmt::format("profile `{}`: two `limit {}` values for one map type", p.name, limit_name(x.kind)));
        }
    }
    return std::move(problems_);
  }

 private:
  void at(uint32_t line, std::string message) { problems_.push_back({line, std::move(message)}); }

  void errno_ok(uint32_t line, const std::string& whose, int value) {
    if (!vocab::policy_errno_accepted(value))
      at(line, fmt::format("{} errno {} is not one the policy language accepts ({})", whose, value,
                           vocab::policy_errno_names()));
  }

  void atom(uint32_t line, const IrProfile& p, const Atom& a) {
    auto bad = [&](const std::string& what) { at(line, fmt::format("profile `{}`: {} {}", p.name, attr_name(a.attr), what)); };
    // Numeric ranges were checked as they were read (inverted, out of range); an empty set, like
    // an empty list of strings, only never matches, as lowering may make it.
    if (attr_is_numeric(a.attr) || a.attr == Attr::delegates) return;
    for (const auto& s : a.strings) {
      if (s.empty() || s.find('\0') != std::string::npos) {
        bad("has an empty value or one with a NUL byte");
        continue;
      }
      switch (a.attr) {
        case Attr::exe:
        case Attr::bpffs:
        case Attr::cgroup_under:
        case Attr::cgroup_is:
          if (s[0] != '/') bad(fmt::format("\"{}\" is not an absolute path", s));
          else if ((a.attr == Attr::cgroup_under || a.attr == Attr::cgroup_is) && !is_canonical_cgroup_path(s))
            bad(fmt::format("\"{}\" is not a canonical cgroup path", s));
          break;
        case Attr::comm:
          if (s.size() > 15) bad(fmt::format("\"{}\" is longer than a comm (15 characters)", s));
          break;
        case Attr::selinux_type:
        case Attr::delegator_type:
          if (!std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
            bad(fmt::format("\"{}\" is not an SELinux type name", s));
          break;
        default:
          break;
      }
    }
  }

  const Ir& ir_;
  std::vector<IrProblem> problems_;
};

}  // namespace

std::vector<IrProblem> validate_ir(const Ir& ir) { return Validator(ir).run(); }

}  // namespace tw::compiler
