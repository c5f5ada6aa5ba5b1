// SPDX-License-Identifier: Apache-2.0
#include "checker.h"

#include "profile_lints.h"

#include <fmt/format.h>

#include "vocab/names.h"

#include <algorithm>
#include <bit>
#include <filesystem>
#include <map>
#include <set>

namespace tw::compiler {

using vocab::EnumKind;

namespace {

constexpr uint64_t kTokenCmds = (1ULL << vocab::cmd::MAP_CREATE) | (1ULL << vocab::cmd::PROG_LOAD) |
                                (1ULL << vocab::cmd::BTF_LOAD) | (1ULL << vocab::cmd::BTF_GET_FD_BY_ID);

std::optional<GrantKind> grant_kind(std::string_view word) {
  static const std::map<std::string, GrantKind> words = {
      {"cmd", GrantKind::cmd},         {"cmds", GrantKind::cmd},
      {"command", GrantKind::cmd},     {"commands", GrantKind::cmd},
      {"map", GrantKind::map},         {"maps", GrantKind::map},
      {"prog", GrantKind::prog},       {"progs", GrantKind::prog},
      {"program", GrantKind::prog},    {"programs", GrantKind::prog},
      {"attach", GrantKind::attach},   {"attachs", GrantKind::attach},
      {"attach_type", GrantKind::attach}, {"attach_types", GrantKind::attach},
      {"cap", GrantKind::cap},         {"caps", GrantKind::cap},
      {"capability", GrantKind::cap},  {"capabilities", GrantKind::cap}};
  auto it = words.find(vocab::to_lower(word));
  if (it == words.end()) return std::nullopt;
  return it->second;
}

EnumKind enum_kind(GrantKind k) { return static_cast<EnumKind>(static_cast<int>(k)); }

struct GrantsBlock {
  const Stmt* stmt = nullptr;
  GrantSet set;
  enum class State { unresolved, resolving, done } state = State::unresolved;
  bool used = false;
};

class Checker {
 public:
  Checker(const SourceSet& sources, const TargetKernel& target, Diagnostics& diags)
      : sources_(sources), target_(target), diags_(diags) {}

  CheckedPolicy run(const std::vector<Stmt>& stmts, const std::string& root_path) {
    policy_.source = root_path;
    policy_.target_kernel = target_.label;
    policy_.name = std::filesystem::path(root_path).stem().string();
    // Grants blocks first, so that `use` may name a block declared later.
    for (const auto& s : stmts)
      if (s.kind == Stmt::Kind::grants) declare_grants(s);
    for (const auto& s : stmts) top_level(s);
    finish();
    return std::move(policy_);
  }

 private:
  std::string where(Span s) const { return sources_.where(s); }

  // -- top level -------------------------------------------------------------------------------

  void top_level(const Stmt& s) {
    switch (s.kind) {
      case Stmt::Kind::policy:
        if (set_once("policy", s)) policy_.name = s.target.text;
        break;
      case Stmt::Kind::default_: {
        if (!set_once("default", s)) break;
        std::string v = vocab::to_lower(s.target.text);
        if (v == "allow" || v == "deny") policy_.default_allow = v == "allow";
        else bad_value(s.target, "`default`", {"allow", "deny"});
        break;
      }
      case Stmt::Kind::preexisting: {
        if (!set_once("preexisting", s)) break;
        std::string v = vocab::to_lower(s.target.text);
        if (v == "allow") policy_.preexisting = Preexisting::allow;
        else if (v == "deny") policy_.preexisting = Preexisting::deny;
        else if (v == "profile" && !s.names.empty()) {
          policy_.preexisting = Preexisting::profile;
          policy_.preexisting_profile = s.names[0].text;
          preexisting_span_ = s.names[0].span;
        } else bad_value(s.target, "`preexisting`", {"allow", "deny", "profile"});
        break;
      }
      case Stmt::Kind::mode:
        if (set_once("mode", s))
          if (auto m = parse_mode(s)) policy_.mode = *m;
        break;
      case Stmt::Kind::errno_:
        if (set_once("errno", s))
          if (auto e = parse_errno(s)) policy_.deny_errno = *e;
        break;
      case Stmt::Kind::profile:
        profile(s);
        break;
      case Stmt::Kind::grants:
        resolve_grants(s.target.text);  // checks the block even when nothing uses it
        break;
      case Stmt::Kind::include:  // the loader replaced top-level includes
      default:
        misplaced(s, "at the top level of a policy", "inside a `profile` or `grants` block");
        break;
    }
  }

  bool set_once(const std::string& setting, const Stmt& s) {
    auto [it, fresh] = settings_.emplace(setting, s.span);
    if (fresh) return true;
    diags_.report(Code::E018, s.span, fmt::format("`{}` is set more than once", setting))
        .note(it->second, "first set here")
        .hint("keep one of them");
    return false;
  }

  void misplaced(const Stmt& s, std::string_view here, std::string_view belongs) {
    diags_.report(Code::E029, s.keyword.span, fmt::format("`{}` is not allowed {}", s.keyword.text, here))
        .hint(fmt::format("`{}` belongs {}", s.keyword.text, belongs));
  }

  void bad_value(const Name& n, std::string_view what, std::vector<std::string> options) {
    std::string list;
    for (const auto& o : options) list += (list.empty() ? "`" : ", `") + o + "`";
    diags_.report(Code::E030, n.span, fmt::format("`{}` is not a value of {}", n.text, what))
        .hint("one of " + list);
  }

  std::optional<Mode> parse_mode(const Stmt& s) {
    auto m = mode_from_name(s.target.text);
    if (!m) bad_value(s.target, "`mode`", {"enforce", "audit", "off"});
    return m;
  }

  std::optional<int> parse_errno(const Stmt& s) {
    auto e = vocab::policy_errno(s.target.text);
    if (!e)
      diags_.report(Code::E022, s.target.span, fmt::format("unknown errno `{}`", s.target.text))
          .hint("one of " + vocab::policy_errno_names());
    return e;
  }

  // -- grants blocks ---------------------------------------------------------------------------

  void declare_grants(const Stmt& s) {
    auto [it, fresh] = grants_.emplace(s.target.text, GrantsBlock{&s});
    if (!fresh)
      diags_.report(Code::E014, s.target.span, fmt::format("grants block `{}` is declared twice", s.target.text))
          .note(it->second.stmt->target.span, "first declared here")
          .hint("rename one of them, or merge them");
  }

  const GrantSet* resolve_grants(const std::string& name) {
    auto it = grants_.find(name);
    if (it == grants_.end()) return nullptr;
    GrantsBlock& b = it->second;
    if (b.state == GrantsBlock::State::done) return &b.set;
    if (b.state == GrantsBlock::State::resolving) return nullptr;  // reported by the user
    b.state = GrantsBlock::State::resolving;
    GrantSet set;
    for (const auto& st : b.stmt->body) body_stmt(st, set, nullptr);
    b.set = std::move(set);
    b.state = GrantsBlock::State::done;
    return &b.set;
  }

  void use(const Stmt& s, GrantSet& into) {
    for (const auto& n : s.names) {
      auto it = grants_.find(n.text);
      if (it == grants_.end()) {
        std::vector<std::string> names;
        for (const auto& [k, v] : grants_) names.push_back(k);
        unknown_name(n.span, fmt::format("no grants block is called `{}`", n.text), n.text, names,
                     "declare it with `grants NAME { ... }`", Code::E012);
        continue;
      }
      it->second.used = true;
      if (it->second.state == GrantsBlock::State::resolving) {
        diags_.report(Code::E025, n.span, fmt::format("grants block `{}` uses itself", n.text))
            .note(it->second.stmt->target.span, "declared here")
            .hint("a grants block may not use itself, directly or through others");
        continue;
      }
      if (const GrantSet* g = resolve_grants(n.text)) merge(*g, into);
    }
  }

  void merge(const GrantSet& from, GrantSet& into) {
    for (size_t k = 0; k < kGrantKinds; ++k) into.grants.mask[k] |= from.grants.mask[k];
    into.refs.insert(into.refs.end(), from.refs.begin(), from.refs.end());
    for (size_t k = 0; k < kLimitKinds; ++k)
      if (from.limits.value[k] != kUnlimited)
        set_limit(into, static_cast<LimitKind>(k), from.limits.value[k], from.limit_span[k], from.limits.rule[k]);
    for (size_t i = 0; i < from.limits.per_type.size(); ++i)
      set_type_limit(into, from.limits.per_type[i], from.per_type_span[i]);
    if (from.limits.forbidden_map_flags) {
      into.limits.forbidden_map_flags |= from.limits.forbidden_map_flags;
      if (into.limits.map_flags_rule == kNoRule) {
        into.limits.map_flags_rule = from.limits.map_flags_rule;
        into.map_flags_span = from.map_flags_span;
      }
    }
    if (!from.limits.sleepable && into.limits.sleepable) {
      into.limits.sleepable = false;
      into.limits.sleepable_rule = from.limits.sleepable_rule;
      into.sleepable_span = from.sleepable_span;
    }
    if (from.limits.probes && !into.limits.probes) {
      into.limits.probes = true;
      into.limits.probes_rule = from.limits.probes_rule;
    }
  }

  // Adds a statement to the policy's rule table and returns its index.
  uint32_t add_rule(const Stmt& s) {
    std::string text(sources_.text(s.span));
    if (!text.empty() && text.back() == ';') text.pop_back();
    policy_.rules.push_back({where(s.span), std::move(text)});
    return static_cast<uint32_t>(policy_.rules.size() - 1);
  }

  void set_limit(GrantSet& set, LimitKind k, uint32_t value, Span span, uint32_t rule) {
    size_t i = static_cast<size_t>(k);
    if (set.limits.value[i] != kUnlimited && set.limits.value[i] != value) {
      diags_.report(Code::E019, span,
                    fmt::format("`{}` here but `{}` elsewhere in the same profile", limit_statement(k, value),
                                limit_statement(k, set.limits.value[i])))
          .note(set.limit_span[i], "the other limit")
          .hint("a profile has one value per limit: keep the one you mean");
      return;
    }
    set.limits.value[i] = value;
    set.limits.rule[i] = rule;
    set.limit_span[i] = span;
  }

  // A per-type limit; two of one kind that name one map type must agree.
  void set_type_limit(GrantSet& set, const TypeLimit& t, Span span) {
    for (size_t i = 0; i < set.limits.per_type.size(); ++i) {
      const TypeLimit& o = set.limits.per_type[i];
      uint64_t both = o.map_types & t.map_types;
      if (o.kind != t.kind || !both || o.value == t.value) continue;
      int type = std::countr_zero(both);
      diags_.report(Code::E019, span,
                    fmt::format("`limit {}` for map {} is {} here but {} elsewhere in the same profile", limit_name(t.kind),
                                vocab::builtin_table(EnumKind::map).name_of(type).value_or(std::to_string(type)), t.value,
                                o.value))
          .note(set.per_type_span[i], "the other limit")
          .hint("a map type has one value per limit: keep the one you mean");
      return;
    }
    set.limits.per_type.push_back(t);
    set.per_type_span.push_back(span);
  }

  // -- bodies ----------------------------------------------------------------------------------

  // One statement of a profile (`profile` non-null) or grants block body.
  void body_stmt(const Stmt& s, GrantSet& set, CheckedProfile* profile) {
    std::string_view in = profile ? "inside a profile" : "inside a grants block";
    switch (s.kind) {
      case Stmt::Kind::allow: allow(s, set); return;
      case Stmt::Kind::limit: limit(s, set); return;
      case Stmt::Kind::forbid: forbid(s, set); return;
      case Stmt::Kind::use: use(s, set); return;
      default: break;
    }
    if (!profile) {
      misplaced(s, in, s.kind == Stmt::Kind::include || s.kind == Stmt::Kind::profile ||
                               s.kind == Stmt::Kind::grants || s.kind == Stmt::Kind::policy ||
                               s.kind == Stmt::Kind::default_ || s.kind == Stmt::Kind::preexisting
                           ? "at the top level of a policy"
                           : "inside a `profile` block");
      return;
    }
    auto once = [&](const char* what) {
      auto [it, fresh] = profile_settings_.emplace(what, s.span);
      if (!fresh)
        diags_.report(Code::E018, s.span, fmt::format("`{}` appears more than once in profile `{}`", what, profile->name))
            .note(it->second, "first here")
            .hint("keep one of them");
      return fresh;
    };
    switch (s.kind) {
      case Stmt::Kind::match:
        if (once("match") && s.match) profile->match = expr(*s.match);
        break;
      case Stmt::Kind::mode:
        if (once("mode")) profile->mode = parse_mode(s);
        break;
      case Stmt::Kind::errno_:
        if (once("errno")) profile->deny_errno = parse_errno(s);
        break;
      case Stmt::Kind::refuse:
        if (once("refuse")) profile->refuse = true;
        break;
      case Stmt::Kind::strict:
        if (once("strict")) profile->strict = true;
        break;
      case Stmt::Kind::reserve:
        if (once("reserve")) reserve(s, set);
        break;
      default:
        misplaced(s, in, "at the top level of a policy");
        break;
    }
  }

  // A word that names nothing (E010, or E011/E012/E023 for attributes, grants and profiles):
  // "did you mean" among `candidates` when one is close, else `otherwise` (when given). The one
  // shape of every unknown-name error.
  Diagnostic& unknown_name(Span span, std::string message, std::string_view word,
                           const std::vector<std::string>& candidates, std::string otherwise = {},
                           Code code = Code::E010) {
    auto& d = diags_.report(code, span, std::move(message));
    if (auto dym = did_you_mean(vocab::closest_names(word, candidates)); !dym.empty()) d.hint(dym);
    else if (!otherwise.empty()) d.hint(std::move(otherwise));
    return d;
  }

  // Resolves one name of an enum kind: builtin catalogue first, then the target's BTF tables.
  std::optional<uint32_t> resolve_enum(EnumKind kind, const Name& n) {
    const auto& builtin = vocab::builtin_table(kind);
    auto v = vocab::lookup_any_spelling(builtin, n.text);
    const vocab::EnumTable* target = target_.tables ? &(*target_.tables)[static_cast<size_t>(kind)] : nullptr;
    if (!v && target) {
      // A name this kernel has and the catalogue lacks: accepted, since the policy asked for this
      // kernel, but other kernels may lack it or give its number to something else.
      if (auto t = vocab::lookup_any_spelling(*target, n.text)) {
        diags_.report(Code::W115, n.span,
                      fmt::format("{} `{}` is known to the target kernel ({}), not to tokenwarden's catalogue (Linux {})",
                                  vocab::kind_noun(kind), n.text, target_.label, vocab::kCatalogueKernel.str()))
            .hint("the policy is only right for kernels that have it with this value; check it against each "
                  "kernel it is loaded on (`--target-kernel running` there)");
        return t;
      }
    }
    if (!v) {
      auto& d = diags_.report(Code::E010, n.span, fmt::format("unknown {} `{}`", vocab::kind_noun(kind), n.text));
      if (auto dym = did_you_mean(vocab::suggest(builtin, n.text)); !dym.empty()) d.hint(dym);
      else d.hint(fmt::format("`tokenwarden catalogue {}` lists the {} names", vocab::kind_keyword(kind), vocab::kind_noun(kind)));
      return std::nullopt;
    }
    std::string canonical = builtin.name_of(*v).value_or(n.text);
    if (target) {
      if (!target->name_of(*v))
        diags_.report(Code::W101, n.span,
                      fmt::format("{} `{}` does not exist on the target kernel ({})", vocab::kind_noun(kind),
                                  canonical, target_.label))
            .hint("rules naming it never apply there");
    } else if (target_.version) {
      auto since = vocab::introduced_in(kind, canonical);
      if (*target_.version < since)
        diags_.report(Code::W101, n.span,
                      fmt::format("{} `{}` is known from Linux {} on; the target kernel is {}",
                                  vocab::kind_noun(kind), canonical, since.str(), target_.version->str()))
            .hint("rules naming it never apply there");
    }
    return v;
  }

  std::optional<int> resolve_cap(const Name& n) {
    auto c = vocab::capability_by_name(n.text);
    if (!c) {
      std::vector<std::string> names;
      for (const auto& cap : vocab::token_capabilities()) names.emplace_back(cap.name);
      unknown_name(n.span, fmt::format("`{}` is not a capability a token can stand in for", n.text), n.text, names)
          .hint("tokens are only asked about CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_ADMIN");
    }
    return c;
  }

  void allow(const Stmt& s, GrantSet& set) {
    if (vocab::to_lower(s.target.text) == "probes") {
      // libbpf's feature probes: small socket filters and one-entry array maps (tw_abi.h).
      if (!s.names.empty()) {
        diags_.report(Code::E003, s.names.front().span, "`allow probes` takes no names");
        return;
      }
      if (set.limits.probes_rule == kNoRule) set.limits.probes_rule = add_rule(s);
      set.limits.probes = true;
      return;
    }
    auto kind = grant_kind(s.target.text);
    if (!kind) {
      unknown_name(s.target.span, fmt::format("cannot allow `{}`", s.target.text), s.target.text,
                   {"cmd", "map", "prog", "attach", "cap", "probes"},
                   "write `allow cmd|map|prog|attach|cap NAME, ...;` or `allow probes;`");
      return;
    }
    GrantRef rule;
    rule.kind = *kind;
    rule.rule = add_rule(s);
    for (const auto& n : s.names) {
      if (vocab::to_lower(n.text) == "any") {
        uint64_t all = 0;
        if (*kind == GrantKind::cap) {
          for (const auto& c : vocab::token_capabilities()) all |= 1ULL << c.value;
        } else {
          all = vocab::builtin_table(enum_kind(*kind)).any_mask();
        }
        rule.mask |= all;
        diags_.report(Code::W108, n.span, fmt::format("`allow {} any` grants every {}", grant_kind_name(*kind),
                                                       *kind == GrantKind::cap ? "token capability" : std::string(vocab::kind_noun(enum_kind(*kind)))))
            .hint("list what the workload needs; `any` also covers what future kernels add");
        continue;
      }
      if (*kind == GrantKind::cap) {
        if (auto c = resolve_cap(n)) rule.mask |= 1ULL << *c;
        continue;
      }
      auto v = resolve_enum(enum_kind(*kind), n);
      if (!v) continue;
      if (*v >= 64) {
        diags_.report(Code::E004, n.span, fmt::format("`{}` has value {}, beyond the kernel's 64-bit masks", n.text, *v));
        continue;
      }
      rule.mask |= 1ULL << *v;
      if (*kind == GrantKind::cmd && !((1ULL << *v) & kTokenCmds))
        diags_.report(Code::W104, n.span,
                      fmt::format("the kernel never consults a token for `{}`: granting it changes nothing",
                                  vocab::builtin_table(EnumKind::cmd).name_of(*v).value_or(n.text)))
            .hint("tokens are consulted for map_create, prog_load, btf_load and btf_get_fd_by_id only");
    }
    set.grants[*kind] |= rule.mask;
    set.refs.push_back(rule);
  }

  void limit(const Stmt& s, GrantSet& set) {
    auto k = limit_from_name(s.target.text);
    if (!k) {
      std::vector<std::string> names;
      for (size_t i = 0; i <= static_cast<size_t>(LimitKind::tokens); ++i) names.emplace_back(limit_name(static_cast<LimitKind>(i)));
      unknown_name(s.target.span, fmt::format("unknown limit `{}`", s.target.text), s.target.text, names,
                   "limits: max_entries, key_size, value_size, insns, maps, progs, tokens");
      return;
    }
    if (!s.number) return;
    if (s.number->value >= kUnlimited) {
      diags_.report(Code::E004, s.number->span, fmt::format("limit {} is too large (at most {})", s.number->value, kUnlimited - 1));
      return;
    }
    auto value = static_cast<uint32_t>(s.number->value);
    if (!s.per.text.empty()) {
      // What the limit counts by: objects per token (the default) or per profile; live tokens
      // per profile (the default), or per creator: its uid, or the token's user namespace.
      std::string per = vocab::to_lower(s.per.text);
      bool objects = *k == LimitKind::maps || *k == LimitKind::progs;
      bool tokens = *k == LimitKind::tokens;
      if (objects && per == "profile") {
        k = *k == LimitKind::maps ? LimitKind::profile_maps : LimitKind::profile_progs;
      } else if (tokens && (per == "uid" || per == "userns")) {
        k = per == "uid" ? LimitKind::uid_tokens : LimitKind::userns_tokens;
      } else if (!((objects && per == "token") || (tokens && per == "profile"))) {
        diags_.report(Code::E030, s.per.span, fmt::format("`limit {}` cannot be counted per `{}`", s.target.text, s.per.text))
            .hint(objects  ? "write `per token` (the default) or `per profile`"
                  : tokens ? "write `per profile` (the default), `per uid` (the creator's) or `per userns` (the token's)"
                           : fmt::format("`limit {}` bounds each object: drop `per ...`", s.target.text));
        return;
      }
    }
    if (s.for_kind.text.empty()) {
      set_limit(set, *k, value, s.span, add_rule(s));
      return;
    }
    if (!limit_is_map_size(*k)) {
      diags_.report(Code::E030, s.for_kind.span, fmt::format("`limit {}` cannot be given per map type", s.target.text))
          .hint("only max_entries, key_size and value_size can: `limit max_entries 65536 for map hash;`");
      return;
    }
    if (vocab::to_lower(s.for_kind.text) != "map") {
      diags_.report(Code::E030, s.for_kind.span, fmt::format("expected `map` after `for`, found `{}`", s.for_kind.text))
          .hint(fmt::format("limit {} {} for map ringbuf, hash;", s.target.text, value));
      return;
    }
    TypeLimit t{*k, 0, value, kNoRule};
    for (const auto& n : s.names) {
      auto v = resolve_enum(EnumKind::map, n);
      if (!v) continue;
      if (*v >= 64) {
        diags_.report(Code::E004, n.span, fmt::format("`{}` has value {}, beyond the kernel's 64-bit masks", n.text, *v));
        continue;
      }
      t.map_types |= 1ULL << *v;
    }
    if (!t.map_types) return;
    t.rule = add_rule(s);
    set_type_limit(set, t, s.span);
  }

  // `reserve tokens N;`: slots of the token table no other profile can take. A profile's own (not
  // in grants blocks, which many profiles may share).
  void reserve(const Stmt& s, GrantSet& set) {
    if (vocab::to_lower(s.target.text) != "tokens") {
      unknown_name(s.target.span, fmt::format("cannot reserve `{}`", s.target.text), s.target.text, {"tokens"},
                   "write `reserve tokens N;`");
      return;
    }
    if (!s.number) return;
    if (s.number->value >= kUnlimited) {
      diags_.report(Code::E004, s.number->span, fmt::format("{} tokens is too many to reserve (at most {})", s.number->value, kUnlimited - 1));
      return;
    }
    set.limits.reserve_tokens = static_cast<uint32_t>(s.number->value);
    set.limits.reserve_rule = add_rule(s);
    set.reserve_span = s.span;
  }

  void forbid(const Stmt& s, GrantSet& set) {
    std::string what = vocab::to_lower(s.target.text);
    if (what == "sleepable") {
      if (!s.names.empty()) {
        diags_.report(Code::E003, s.names.front().span, "`forbid sleepable` takes no names");
        return;
      }
      set.limits.sleepable = false;
      set.limits.sleepable_rule = add_rule(s);
      set.sleepable_span = s.span;
      return;
    }
    if (what != "map_flags" && what != "map_flag") {
      unknown_name(s.target.span, fmt::format("cannot forbid `{}`", s.target.text), what, {"sleepable", "map_flags"},
                   "write `forbid sleepable;` or `forbid map_flags NAME, ...;`");
      return;
    }
    if (s.names.empty()) {
      diags_.report(Code::E003, s.span, "`forbid map_flags` needs at least one flag name")
          .hint("forbid map_flags mmapable, numa_node;");
      return;
    }
    for (const auto& n : s.names) {
      auto bit = vocab::map_flag_by_name(n.text);
      if (!bit) {
        std::vector<std::string> names;
        for (const auto& f : vocab::map_flags()) names.emplace_back(f.name);
        unknown_name(n.span, fmt::format("unknown map flag `{}`", n.text), n.text, names,
                     "`tokenwarden catalogue map_flag` lists them");
        continue;
      }
      set.limits.forbidden_map_flags |= 1u << *bit;
    }
    if (set.limits.map_flags_rule == kNoRule) {
      set.limits.map_flags_rule = add_rule(s);
      set.map_flags_span = s.span;
    }
  }

  // -- match clauses ---------------------------------------------------------------------------

  CheckedExpr expr(const Expr& e) {
    CheckedExpr out;
    out.span = e.span;
    switch (e.kind) {
      case Expr::Kind::any: out.kind = CheckedExpr::Kind::any; break;
      case Expr::Kind::all_of: out.kind = CheckedExpr::Kind::all_of; break;
      case Expr::Kind::any_of: out.kind = CheckedExpr::Kind::any_of; break;
      case Expr::Kind::negation: out.kind = CheckedExpr::Kind::negation; break;
      case Expr::Kind::predicate:
        out.kind = CheckedExpr::Kind::predicate;
        out.atom = predicate(e.pred);
        out.atom.span = e.span;
        return out;
    }
    for (const auto& c : e.children) out.children.push_back(expr(c));
    return out;
  }

  Atom predicate(const Predicate& p) {
    Atom a;
    std::string attr = vocab::to_lower(p.attr.text);
    std::string op = vocab::to_lower(p.op.text);
    if (attr == "token" && op == "delegates") return delegates(p);
    static const std::map<std::string, Attr> attrs = {
        {"creator.uid", Attr::uid},          {"creator.gid", Attr::gid},
        {"creator.comm", Attr::comm},        {"creator.exe", Attr::exe},
        {"creator.cgroup", Attr::cgroup_under}, {"creator.selinux_type", Attr::selinux_type},
        {"token.userns.owner", Attr::userns_owner}, {"token.userns.depth", Attr::userns_depth},
        {"token.bpffs", Attr::bpffs}, {"token.delegator.selinux_type", Attr::delegator_type}};
    auto it = attrs.find(attr);
    if (it == attrs.end()) {
      std::vector<std::string> names;
      for (const auto& [k, v] : attrs) names.push_back(k);
      names.emplace_back("token delegates");
      unknown_name(p.attr.span, fmt::format("unknown attribute `{}`", p.attr.text), attr, names,
                   "see `docs/policy-language.md` for the attributes a match clause can test", Code::E011);
      a.ints = IntervalSet::range(0, UINT32_MAX);  // keep going with a harmless atom
      return a;
    }
    a.attr = it->second;
    if (attr_is_numeric(a.attr)) return numeric(p, a, op);
    return string_atom(p, a, op);
  }

  void bad_operator(const Predicate& p, std::string_view valid) {
    diags_.report(Code::E030, p.op.span, fmt::format("`{}` cannot be compared with `{}`", p.attr.text, p.op.text))
        .hint(fmt::format("`{}` takes {}", p.attr.text, valid));
  }

  Atom numeric(const Predicate& p, Atom a, const std::string& op) {
    uint32_t max = attr_max(a.attr);
    a.ints = IntervalSet::range(0, max);
    if (!p.strings.empty()) {
      diags_.report(Code::E030, p.strings.front().span, fmt::format("`{}` is compared with numbers, not strings", p.attr.text));
      return a;
    }
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    for (const auto& [lo, hi] : p.ranges) {
      bool ok = true;
      for (const Number* n : {&lo, &hi})
        if (n->value > max) {
          diags_.report(Code::E004, n->span, fmt::format("{} is out of range for `{}` (0..{})", n->value, p.attr.text, max));
          ok = false;
        }
      if (ok && lo.value > hi.value) {
        diags_.report(Code::E017, join(lo.span, hi.span), fmt::format("the range {}..{} is empty", lo.value, hi.value))
            .hint(fmt::format("write it low to high: {}..{}", hi.value, lo.value));
        ok = false;
      }
      if (ok) ranges.emplace_back(static_cast<uint32_t>(lo.value), static_cast<uint32_t>(hi.value));
    }
    if (ranges.size() != p.ranges.size()) return a;
    bool single = ranges.size() == 1 && ranges[0].first == ranges[0].second;
    uint32_t v = ranges.empty() ? 0 : ranges[0].first;
    if (op != "in" && !single) {
      diags_.report(Code::E030, p.op.span, fmt::format("`{}` takes one number; use `in` for ranges and lists", p.op.text));
      return a;
    }
    if (op == "in") a.ints = IntervalSet(ranges);
    else if (op == "==") a.ints = IntervalSet::range(v, v);
    else if (op == "!=") a.ints = IntervalSet::range(v, v).complement(max);
    else if (op == "<") a.ints = v == 0 ? IntervalSet() : IntervalSet::range(0, v - 1);
    else if (op == "<=") a.ints = IntervalSet::range(0, v);
    else if (op == ">") a.ints = v >= max ? IntervalSet() : IntervalSet::range(v + 1, max);
    else if (op == ">=") a.ints = IntervalSet::range(v, max);
    else bad_operator(p, "`==`, `!=`, `<`, `<=`, `>`, `>=` or `in`");
    return a;
  }

  Atom string_atom(const Predicate& p, Atom a, const std::string& op) {
    if (!p.ranges.empty()) {
      diags_.report(Code::E030, p.ranges.front().first.span,
                    fmt::format("`{}` is compared with strings, not numbers", p.attr.text))
          .hint("put the value in quotes");
      return a;
    }
    bool cgroup = a.attr == Attr::cgroup_under;
    if (cgroup) {
      if (op == "==" || op == "!=" || op == "in") a.attr = Attr::cgroup_is;
      else if (op != "under") {
        bad_operator(p, "`under PATH` (the cgroup or a descendant), `==`, `!=` or `in`");
        return a;
      }
    } else if (op != "==" && op != "!=" && op != "in") {
      bad_operator(p, "`==`, `!=` or `in`");
      return a;
    }
    if (op == "under" && p.strings.size() > 1) {
      diags_.report(Code::E030, p.strings[1].span, "`under` takes one cgroup path")
          .hint("combine several with `or`");
    }
    if (op != "in" && op != "under" && p.strings.size() > 1)
      diags_.report(Code::E030, p.strings[1].span, fmt::format("`{}` takes one value; use `in` for a list", p.op.text));
    a.negated = op == "!=";
    for (const auto& s : p.strings) {
      if (!valid_string(a.attr, s)) continue;
      std::string v = s.value;
      if ((a.attr == Attr::cgroup_under || a.attr == Attr::cgroup_is || a.attr == Attr::exe || a.attr == Attr::bpffs) &&
          v.size() > 1 && v.back() == '/')
        v.pop_back();
      a.strings.push_back(std::move(v));
    }
    std::sort(a.strings.begin(), a.strings.end());
    a.strings.erase(std::unique(a.strings.begin(), a.strings.end()), a.strings.end());
    return a;
  }

  bool valid_string(Attr attr, const StringLit& s) {
    if (s.value.empty() || s.value.find('\0') != std::string::npos) {
      diags_.report(Code::E030, s.span, "empty value");
      return false;
    }
    switch (attr) {
      case Attr::exe:
      case Attr::bpffs:
      case Attr::cgroup_under:
      case Attr::cgroup_is:
        if (s.value[0] != '/') {
          auto& d = diags_.report(Code::E024, s.span, fmt::format("`{}` is not an absolute path", s.value));
          d.hint(attr == Attr::cgroup_under || attr == Attr::cgroup_is
                     ? "cgroup paths start at the cgroup2 root: \"/system.slice/ci.service\""
                     : "the programs compare it as a path from the root, so it must start with `/`");
          return false;
        }
        if ((attr == Attr::cgroup_under || attr == Attr::cgroup_is) && !is_canonical_cgroup_path(s.value)) {
          diags_.report(Code::E030, s.span, fmt::format("`{}` is not a canonical cgroup path", s.value))
              .hint("no `.`, `..` or `//`: cgroups are told apart by their depth below the root");
          return false;
        }
        return true;
      case Attr::comm:
        if (s.value.size() > 15) {
          diags_.report(Code::E027, s.span, fmt::format("`{}` has {} characters; a task's comm has at most 15", s.value, s.value.size()))
              .hint(fmt::format("the kernel truncates comm: match `{}`, or match creator.exe instead", s.value.substr(0, 15)));
          return false;
        }
        return true;
      case Attr::selinux_type:
      case Attr::delegator_type:
        if (!std::all_of(s.value.begin(), s.value.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
          diags_.report(Code::E030, s.span, fmt::format("`{}` is not an SELinux type name", s.value))
              .hint("a type, not a full context: `container_t`, not `system_u:system_r:container_t:s0`");
          return false;
        }
        return true;
      default:
        return true;
    }
  }

  Atom delegates(const Predicate& p) {
    Atom a;
    a.attr = Attr::delegates;
    std::string q = vocab::to_lower(p.quantifier.text);
    a.all = q != "any";
    auto kind = grant_kind(p.kind.text);
    if (!kind || *kind == GrantKind::cap) {
      diags_.report(Code::E010, p.kind.span, fmt::format("a bpffs does not delegate `{}`", p.kind.text))
          .hint("`token delegates cmd|map|prog|attach NAME, ...`");
      return a;
    }
    a.kind = enum_kind(*kind);
    for (const auto& n : p.names) {
      if (vocab::to_lower(n.text) == "any") {
        a.mask |= vocab::builtin_table(a.kind).any_mask();
        continue;
      }
      if (auto v = resolve_enum(a.kind, n); v && *v < 64) a.mask |= 1ULL << *v;
    }
    return a;
  }

  // -- profiles --------------------------------------------------------------------------------

  void profile(const Stmt& s) {
    CheckedProfile p;
    p.name = s.target.text;
    p.span = s.span;
    p.name_span = s.target.span;
    auto [it, fresh] = profile_spans_.emplace(p.name, s.target.span);
    if (!fresh)
      diags_.report(Code::E013, s.target.span, fmt::format("profile `{}` is declared twice", p.name))
          .note(it->second, "first declared here")
          .hint("profile names are identities that survive policy replacement: make them unique");
    profile_settings_.clear();
    GrantSet set;
    for (const auto& st : s.body) body_stmt(st, set, &p);
    if (!p.match)
      diags_.report(Code::E021, s.target.span, fmt::format("profile `{}` has no match clause", p.name))
          .hint("say which tokens it labels, e.g. `match creator.uid == 1000;`, or `match any;`");
    lint_profile(p, set, diags_);
    p.grants = set.grants;
    p.grant_refs = std::move(set.refs);
    p.limits = set.limits;
    policy_.profiles.push_back(std::move(p));
  }

  void finish() {
    if (policy_.profiles.size() > target_.max_profiles)
      diags_.report(Code::E026, policy_.profiles[target_.max_profiles].name_span,
                    fmt::format("{} profiles; the BPF backend holds at most {}", policy_.profiles.size(), target_.max_profiles))
          .hint("merge profiles that grant the same, with `in` lists in their match clauses");
    if (policy_.preexisting == Preexisting::profile && !profile_spans_.count(policy_.preexisting_profile)) {
      std::vector<std::string> names;
      for (const auto& p : policy_.profiles) names.push_back(p.name);
      unknown_name(preexisting_span_, fmt::format("no profile is called `{}`", policy_.preexisting_profile),
                   policy_.preexisting_profile, names, {}, Code::E023);
    }
    for (const auto& [name, b] : grants_)
      if (!b.used)
        diags_.report(Code::W111, b.stmt->target.span, fmt::format("grants block `{}` is never used", name))
            .hint("`use` it in a profile, or delete it");
  }

  const SourceSet& sources_;
  const TargetKernel& target_;
  Diagnostics& diags_;
  CheckedPolicy policy_;
  std::map<std::string, GrantsBlock> grants_;
  std::map<std::string, Span> settings_;
  std::map<std::string, Span> profile_settings_;
  std::map<std::string, Span> profile_spans_;
  Span preexisting_span_;
};

}  // namespace

CheckedPolicy check(const std::vector<Stmt>& stmts, const SourceSet& sources, const std::string& root_path,
                    const TargetKernel& target, Diagnostics& diags) {
  return Checker(sources, target, diags).run(stmts, root_path);
}

}  // namespace tw::compiler
