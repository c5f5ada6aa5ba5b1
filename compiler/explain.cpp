// SPDX-License-Identifier: Apache-2.0
#include "explain.h"

#include <fmt/format.h>

#include <unordered_map>

#include "vocab/policy_tables.h"
#include <fmt/ranges.h>

#include "cil_backend.h"
#include "ir_io.h"
#include "vocab/names.h"

namespace tw::compiler {
namespace {

bool mentions_selinux(const IrProfile& p) {
  for (const auto& c : p.match)
    for (const auto& a : c.atoms)
      if (attr_is_selinux(a.attr)) return true;
  return false;
}

std::string verdict_words(const IrProfile& p) {
  switch (p.mode) {
    case Mode::enforce: return fmt::format("refused with {}", vocab::errno_name(p.deny_errno));
    case Mode::audit: return "logged, then allowed (mode audit)";
    case Mode::off: return "allowed (mode off)";
  }
  return "";
}

std::string limits_text(const IrProfile& p, bool maps) {
  std::string s;
  auto add = [&](LimitKind k, std::string_view what) {
    if (p.limits[k] != kUnlimited) s += fmt::format("{}{} at most {}", s.empty() ? "" : ", ", what, p.limits[k]);
  };
  if (maps) {
    add(LimitKind::max_entries, "max_entries");
    add(LimitKind::key_size, "key_size");
    add(LimitKind::value_size, "value_size");
    for (const auto& t : p.limits.per_type)
      s += fmt::format("{}{} at most {} for {}", s.empty() ? "" : ", ", limit_name(t.kind), t.value,
                       grant_names(GrantKind::map, t.map_types));
    add(LimitKind::maps, "maps per token");
    add(LimitKind::profile_maps, "live maps of the profile (all its tokens; a freed map gives its place back)");
    if (p.limits.forbidden_map_flags) {
      std::string names;
      for (const auto& f : vocab::map_flags())
        if (p.limits.forbidden_map_flags & (1u << f.bit)) names += (names.empty() ? "" : ", ") + vocab::to_lower(f.name);
      s += fmt::format("{}no map flags {}", s.empty() ? "" : ", ", names);
    }
  } else {
    add(LimitKind::insns, "instructions");
    add(LimitKind::progs, "programs per token");
    add(LimitKind::profile_progs, "live programs of the profile (all its tokens; a freed program gives its place back)");
    if (!p.limits.sleepable) s += fmt::format("{}no sleepable programs", s.empty() ? "" : ", ");
    if (p.limits.probes)
      s += fmt::format("{}libbpf's probes (socket filters of at most {} instructions, one-entry array maps)",
                       s.empty() ? "" : ", ", TW_PROBE_INSNS);
  }
  return s.empty() ? "no limits" : s;
}

}  // namespace

std::string explain(const Ir& ir) {
  std::string out = fmt::format("policy `{}` ({}): {} profile{}, mode {}\n", ir.name, ir.source, ir.profiles.size(),
                                ir.profiles.size() == 1 ? "" : "s", mode_name(ir.mode));
  if (!ir.target_kernel.empty()) out += fmt::format("checked against kernel {}\n", ir.target_kernel);

  out += "\nbpf_token_create: the first profile whose match clause holds labels the token\n";
  for (const auto& p : ir.profiles) {
    out += fmt::format("  {}. `{}` ({})\n", p.order + 1, p.name, p.where);
    if (p.match.empty()) out += "       never matches\n";
    for (size_t i = 0; i < p.match.size(); ++i) {
      std::string conj;
      for (const auto& a : p.match[i].atoms) conj += (conj.empty() ? "" : " and ") + atom_text(a);
      out += fmt::format("       {} {}\n", i == 0 ? "when" : "  or", conj.empty() ? "any token" : conj);
    }
    if (p.refuse) out += fmt::format("       -> token creation {}\n", verdict_words(p));
    else if (p.strict)
      out += fmt::format("       -> labelled `{}`; if the bpffs delegates more than the profile grants, creation is {}\n",
                         p.name, verdict_words(p));
    else out += fmt::format("       -> labelled `{}`\n", p.name);
    if (!p.refuse && p.limits[LimitKind::tokens] != kUnlimited)
      out += fmt::format("       at most {} live tokens of this profile at once, whoever creates them; one more is {}\n",
                         p.limits[LimitKind::tokens], verdict_words(p));
    if (!p.refuse && p.limits[LimitKind::uid_tokens] != kUnlimited)
      out += fmt::format("       at most {} live tokens of this profile for each creating uid; one more is {}\n",
                         p.limits[LimitKind::uid_tokens], verdict_words(p));
    if (!p.refuse && p.limits[LimitKind::userns_tokens] != kUnlimited)
      out += fmt::format("       at most {} live tokens of this profile in each user namespace (each delegation: a container, "
                         "a service's start); one more is {}\n",
                         p.limits[LimitKind::userns_tokens], verdict_words(p));
    if (!p.refuse && p.limits.reserve_tokens)
      out += fmt::format("       {} slots of the token table are kept for this profile: while it holds fewer, it gets a "
                         "token even when every shared slot is taken\n",
                         p.limits.reserve_tokens);
  }
  // What the policy's own refusals come to in its mode (a profile's mode does not apply to them).
  std::string refusal = ir.mode == Mode::enforce ? "refused with " + vocab::errno_name(ir.deny_errno)
                        : ir.mode == Mode::audit ? "logged, then allowed (mode audit)"
                                                 : "allowed (mode off)";
  out += ir.default_allow ? "  otherwise: the token is created unconfined (default allow)\n"
                          : fmt::format("  otherwise: token creation is {} (default deny)\n", refusal);
  switch (ir.preexisting) {
    case Preexisting::allow: out += "  tokens created before the policy was loaded: unrestricted\n"; break;
    case Preexisting::deny:
      out += fmt::format("  tokens created before the policy was loaded: every use {}\n", refusal);
      break;
    case Preexisting::profile:
      out += fmt::format("  tokens created before the policy was loaded: treated as profile `{}`\n", ir.preexisting_profile);
      break;
  }

  out += "\nper profile, for tokens it labelled:\n";
  for (const auto& p : ir.profiles) {
    if (p.refuse) continue;
    out += fmt::format("  `{}` (mode {}; anything not listed is {})\n", p.name, mode_name(p.mode), verdict_words(p));
    if (p.mode == Mode::off) {
      out += "    every hook allows (mode off)\n";
      continue;
    }
    out += fmt::format("    bpf_token_cmd      commands {}\n", grant_names(GrantKind::cmd, p.grants[GrantKind::cmd]));
    out += "                       (a refused command makes the kernel ignore the token: the call fails with EPERM)\n";
    out += fmt::format("    bpf_token_capable  {}\n", grant_names(GrantKind::cap, p.grants[GrantKind::cap]));
    if (p.grants[GrantKind::cmd] & 1)
      out += fmt::format("    bpf_map_create     map types {}; {}\n", grant_names(GrantKind::map, p.grants[GrantKind::map]),
                         limits_text(p, true));
    if (p.grants[GrantKind::cmd] & (1ULL << 5))
      out += fmt::format("    bpf_prog_load      program types {}; attach types {}; {}\n",
                         grant_names(GrantKind::prog, p.grants[GrantKind::prog]),
                         grant_names(GrantKind::attach, p.grants[GrantKind::attach]), limits_text(p, false));
  }

  // What each backend enforces, per profile (cil_backend.h says how SELinux's part is derived).
  out += "\nbackends (the BPF LSM enforces every hook above; SELinux, with --emit cil, what it can check):\n";
  std::unordered_map<std::string_view, const IrProfile*> by_name;  // one lookup per profile, not a scan
  for (const auto& p : ir.profiles) by_name.emplace(p.name, &p);
  for (const auto& cov : lower_to_cil(ir).coverage) {
    auto it = by_name.find(cov.profile);
    const IrProfile* p = it == by_name.end() ? nullptr : it->second;
    bool selinux_only = p && mentions_selinux(*p);
    out += fmt::format("  `{}`\n", cov.profile);
    if (selinux_only) out += "    BPF LSM: its alternatives that test SELinux types never match there\n";
    out += cov.selinux.empty() ? "    SELinux: nothing (no alternative names creators by creator.selinux_type)\n"
                               : fmt::format("    SELinux: {}\n", fmt::join(cov.selinux, "\n             "));
    if (!cov.selinux.empty() && !cov.bpf_only.empty()) out += fmt::format("    BPF-only: {}\n", fmt::join(cov.bpf_only, "; "));
  }
  return out;
}

}  // namespace tw::compiler
