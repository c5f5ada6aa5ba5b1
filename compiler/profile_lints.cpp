// SPDX-License-Identifier: Apache-2.0
#include "profile_lints.h"

#include <fmt/format.h>

#include "vocab/catalogue.h"
#include "vocab/names.h"

namespace tw::compiler {

using vocab::EnumKind;

void lint_profile(const CheckedProfile& p, const GrantSet& set, Diagnostics& diags) {
  const Grants& g = set.grants;
  bool map_create = g[GrantKind::cmd] & (1ULL << vocab::cmd::MAP_CREATE);
  bool prog_load = g[GrantKind::cmd] & (1ULL << vocab::cmd::PROG_LOAD);
  Span at = p.name_span;
  if (g[GrantKind::map] && !map_create)
    diags.report(Code::W105, at, fmt::format("profile `{}` allows map types but not the map_create command", p.name))
        .hint("add `allow cmd map_create;` or drop the map types");
  if ((g[GrantKind::prog] || g[GrantKind::attach]) && !prog_load)
    diags.report(Code::W105, at, fmt::format("profile `{}` allows program or attach types but not the prog_load command", p.name))
        .hint("add `allow cmd prog_load;` or drop the program types");
  if (prog_load && g[GrantKind::prog] && !g[GrantKind::attach])
    diags.report(Code::W110, at, fmt::format("profile `{}` allows program loads but no attach type: every load is refused", p.name))
        .hint("the kernel checks expected_attach_type on every load; it defaults to cgroup_inet_ingress (0)");

  static const char* tracing[] = {"kprobe", "tracepoint", "perf_event", "raw_tracepoint",
                                  "raw_tracepoint_writable", "tracing", "lsm"};
  std::string found;
  for (const char* t : tracing)
    if (auto v = vocab::builtin_table(EnumKind::prog).find(t); v && (g[GrantKind::prog] & (1ULL << *v)))
      found += (found.empty() ? "" : ", ") + std::string(t);
  if (!found.empty() && (g[GrantKind::cap] & (1ULL << vocab::cap::PERFMON)))
    diags.report(Code::W106, at,
                  fmt::format("profile `{}` grants {} with CAP_PERFMON: such programs read all kernel memory, "
                              "whatever namespace the token lives in",
                              p.name, found))
        .hint("a token confines who loads, not what a tracing program can see");
  if (g[GrantKind::cap] & (1ULL << vocab::cap::SYS_ADMIN))
    diags.report(Code::W107, at, fmt::format("profile `{}` grants CAP_SYS_ADMIN through its tokens", p.name))
        .hint("CAP_SYS_ADMIN stands in for every other BPF capability in the token's namespace");

  auto without = [&](LimitKind k, bool has, const char* cmd) {
    size_t i = static_cast<size_t>(k);
    if (set.limits.value[i] == kUnlimited) return;
    if (!has) {
      diags.report(Code::W109, set.limit_span[i],
                    fmt::format("`{}` has no effect: profile `{}` does not allow {}", limit_statement(k, set.limits.value[i]),
                                p.name, cmd));
    } else if (set.limits.value[i] == 0 && k != LimitKind::key_size && k != LimitKind::value_size &&
               !(set.limits.probes && (k == LimitKind::maps || k == LimitKind::progs || k == LimitKind::profile_maps ||
                                       k == LimitKind::profile_progs))) {
      // (With `allow probes`, a quota of 0 still lets libbpf's probes through: they are not
      // counted. `limit progs 0` then means "maps, and the probes libbpf needs to make them".)
      diags.report(Code::E019, set.limit_span[i],
                    fmt::format("profile `{}` allows {} but `{}` makes every such call fail", p.name, cmd, limit_statement(k, 0)))
          .hint(fmt::format("drop `allow cmd {}` or raise the limit", cmd));
    }
  };
  without(LimitKind::max_entries, map_create, "map_create");
  without(LimitKind::key_size, map_create, "map_create");
  without(LimitKind::value_size, map_create, "map_create");
  without(LimitKind::maps, map_create, "map_create");
  without(LimitKind::insns, prog_load, "prog_load");
  without(LimitKind::progs, prog_load, "prog_load");
  without(LimitKind::profile_maps, map_create, "map_create");
  without(LimitKind::profile_progs, prog_load, "prog_load");
  // A per-type limit applies to the map types it names that the profile allows; the others it
  // names would be refused anyway.
  for (size_t i = 0; i < set.limits.per_type.size(); ++i) {
    const TypeLimit& t = set.limits.per_type[i];
    std::string names;
    for (uint32_t type = 0; type < 64; ++type)
      if ((t.map_types & (1ULL << type)) && !(g[GrantKind::map] & (1ULL << type)))
        names += (names.empty() ? "" : ", ") +
                 vocab::builtin_table(EnumKind::map).name_of(type).value_or(std::to_string(type));
    if (!map_create)
      diags.report(Code::W109, set.per_type_span[i],
                    fmt::format("`limit {} ... for map` has no effect: profile `{}` does not allow map_create", limit_name(t.kind), p.name));
    else if (!names.empty())
      diags.report(Code::W109, set.per_type_span[i],
                    fmt::format("profile `{}` does not allow map type{} {}: `limit {}` for {} has no effect",
                                p.name, names.find(',') == std::string::npos ? "" : "s", names, limit_name(t.kind),
                                names.find(',') == std::string::npos ? "it" : "them"))
          .hint(fmt::format("add `allow map {};` or drop {} from the limit", names, names.find(',') == std::string::npos ? "it" : "them"));
  }
  if (size_t i = static_cast<size_t>(LimitKind::tokens); set.limits.value[i] == 0)
    diags.report(Code::E019, set.limit_span[i],
                  fmt::format("`limit tokens 0` makes every token creation of profile `{}` fail", p.name))
        .hint("write `refuse;` for a profile that refuses every token");
  // A creator's share of the profile's tokens: within the profile's own limit, else that binds first.
  for (LimitKind k : {LimitKind::uid_tokens, LimitKind::userns_tokens}) {
    size_t i = static_cast<size_t>(k);
    uint32_t v = set.limits.value[i], all = set.limits[LimitKind::tokens];
    if (v == kUnlimited) continue;
    if (p.refuse)
      diags.report(Code::W109, set.limit_span[i], fmt::format("`{}` has no effect: profile `{}` refuses every token", limit_statement(k, v), p.name));
    else if (v == 0)
      diags.report(Code::E019, set.limit_span[i], fmt::format("`{}` makes every token creation of profile `{}` fail", limit_statement(k, 0), p.name))
          .hint("write `refuse;` for a profile that refuses every token");
    else if (all != kUnlimited && v >= all)
      diags.report(Code::W109, set.limit_span[i],
                    fmt::format("`{}` has no effect: `limit tokens {}` of profile `{}` stops every creator first", limit_statement(k, v), all, p.name))
          .note(set.limit_span[static_cast<size_t>(LimitKind::tokens)], "the profile's limit")
          .hint("a creator's limit is below the profile's, or not written");
  }
  if (uint32_t r = set.limits.reserve_tokens; r) {
    uint32_t limit = set.limits[LimitKind::tokens];
    if (p.refuse)
      diags.report(Code::W109, set.reserve_span, fmt::format("`reserve tokens {}` has no effect: profile `{}` refuses every token", r, p.name));
    else if (limit != kUnlimited && r > limit)
      diags.report(Code::E019, set.reserve_span,
                    fmt::format("profile `{}` reserves {} tokens but `limit tokens {}` lets it hold only {}", p.name, r, limit, limit))
          .note(set.limit_span[static_cast<size_t>(LimitKind::tokens)], "the limit")
          .hint("reserve at most what the profile may hold");
  }
  if (set.limits.forbidden_map_flags && !map_create)
    diags.report(Code::W109, set.map_flags_span, fmt::format("`forbid map_flags` has no effect: profile `{}` does not allow map_create", p.name));
  if (!set.limits.sleepable && !prog_load)
    diags.report(Code::W109, set.sleepable_span, fmt::format("`forbid sleepable` has no effect: profile `{}` does not allow prog_load", p.name));
}

}  // namespace tw::compiler
