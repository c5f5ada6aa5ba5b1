// SPDX-License-Identifier: Apache-2.0
// The decision IR: the single input of every backend (BPF LSM tables, SELinux CIL), of the
// reference evaluator and of `explain`. Everything is normalised here: the first-match order is
// explicit, match clauses are in disjunctive normal form with numeric ranges merged and negations
// folded, grants are bitmasks, limits and modes have their defaults filled, and each profile has a
// stable identity (a hash of its name) so that a replaced policy keeps labelling existing tokens
// consistently. An IR serialises to JSON losslessly (the compiled artifact's payload).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vocab/catalogue.h"
#include "vocab/tw_abi.h"
#include "source.h"

namespace tw::compiler {

enum class Mode { enforce, audit, off };
std::string_view mode_name(Mode m);
std::optional<Mode> mode_from_name(std::string_view s);

// What a match clause can look at (vocab/attr.def, where each is described; the BPF programs'
// enum tw_attr has the same numbering). Numeric attributes hold interval sets; string
// attributes sets of strings; `delegates` a mask of one enum kind. Paths (`exe`, `cgroup_*`,
// `bpffs`) are bound to what the programs compare at load.
enum class Attr {
#define TW_ATTR(ENUM, ident, spelling, numeric, max) ident,
#include "vocab/attr.def"
#undef TW_ATTR
};
inline constexpr size_t kAttrCount = TW_ATTR_COUNT;
// Attributes only SELinux can see: alternatives testing them never match under the BPF LSM.
inline bool attr_is_selinux(Attr a) { return a == Attr::selinux_type || a == Attr::delegator_type; }
std::string_view attr_name(Attr a);  // "creator.uid", ...
// "/a/b" (or "/a/b/"): no `.`, `..` or empty components. The BPF programs find `under` cgroups by
// their depth, which only such a path gives.
bool is_canonical_cgroup_path(std::string_view path);
bool attr_is_numeric(Attr a);
uint32_t attr_max(Attr a);  // largest value of a numeric attribute

// Sorted, disjoint, non-adjacent inclusive ranges.
class IntervalSet {
 public:
  static IntervalSet range(uint32_t lo, uint32_t hi) { return IntervalSet({{lo, hi}}); }
  IntervalSet() = default;
  explicit IntervalSet(std::vector<std::pair<uint32_t, uint32_t>> ranges);  // normalises
  const std::vector<std::pair<uint32_t, uint32_t>>& ranges() const { return ranges_; }
  bool empty() const { return ranges_.empty(); }
  bool contains(uint32_t v) const;
  bool subset_of(const IntervalSet& other) const;
  bool is_single() const { return ranges_.size() == 1 && ranges_[0].first == ranges_[0].second; }
  IntervalSet intersect(const IntervalSet& other) const;
  IntervalSet complement(uint32_t max) const;  // within [0, max]
  std::string str() const;                     // "1000..1999, 3000"
  bool operator==(const IntervalSet&) const = default;

 private:
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
};

struct Atom {
  Attr attr = Attr::uid;
  bool negated = false;              // string and delegates atoms; numeric atoms fold negation
  IntervalSet ints;                  // numeric attributes
  std::vector<std::string> strings;  // string attributes: the value is one of these (sorted)
  vocab::EnumKind kind = vocab::EnumKind::cmd;  // delegates
  uint64_t mask = 0;                              // delegates
  bool all = true;                                // delegates: all of mask (else any of it)
  Span span;                                      // of the predicate; not serialised
};

// All atoms hold. Sorted by attribute; an empty conjunction always holds.
struct Conjunction {
  std::vector<Atom> atoms;
};

enum class GrantKind { cmd, map, prog, attach, cap };
inline constexpr size_t kGrantKinds = 5;
std::string_view grant_kind_name(GrantKind k);  // "cmd", "map", ...

struct Grants {
  uint64_t mask[kGrantKinds] = {};  // cap: bit = capability number
  uint64_t& operator[](GrantKind k) { return mask[static_cast<size_t>(k)]; }
  uint64_t operator[](GrantKind k) const { return mask[static_cast<size_t>(k)]; }
};

// One `allow`, `limit` or `forbid` statement, kept once per policy (in Ir::rules) however many
// profiles use it, so that decisions can name the rule that decided them.
struct Rule {
  std::string where;  // "file:line:col"
  std::string text;   // "allow prog xdp, sched_cls"
};
inline constexpr uint32_t kNoRule = UINT32_MAX;

// Bits a profile grants through one rule.
struct GrantRef {
  GrantKind kind = GrantKind::cmd;
  uint64_t mask = 0;
  uint32_t rule = kNoRule;  // index in Ir::rules
};

inline constexpr uint32_t kUnlimited = std::numeric_limits<uint32_t>::max();

// In the order of enum tw_limit (tw_abi.h). `maps`, `progs`: objects made through one token;
// `tokens`: live tokens of the profile, all creators; `profile_maps`, `profile_progs` (written
// `limit maps N per profile`): live maps and programs made through all of the profile's tokens;
// `uid_tokens`, `userns_tokens` (`limit tokens N per uid|userns`): live tokens of the profile that
// one creator holds, counted by the creator's uid or by the token's user namespace.
enum class LimitKind { max_entries, key_size, value_size, insns, maps, progs, tokens, profile_maps, profile_progs,
                       uid_tokens, userns_tokens };
inline constexpr size_t kLimitKinds = 11;
std::string_view limit_name(LimitKind k);  // the IR's key: "max_entries", ..., "profile_maps"
// A statement's limit word (`max_entries` ... `tokens`); profile_maps and profile_progs are
// `maps` and `progs` with `per profile`, uid_tokens and userns_tokens `tokens` with `per uid|userns`.
std::optional<LimitKind> limit_from_name(std::string_view s);
// The statement as written for limit `k` of `value`: "limit maps 8 per profile".
// Whether `k` counts one creator's tokens (`per uid`, `per userns`).
inline bool limit_is_per_creator(LimitKind k) { return k == LimitKind::uid_tokens || k == LimitKind::userns_tokens; }
std::string limit_statement(LimitKind k, uint32_t value);
// Whether `limit K N for map TYPE, ...` may name map types: the sizes.
inline bool limit_is_map_size(LimitKind k) {
  return k == LimitKind::max_entries || k == LimitKind::key_size || k == LimitKind::value_size;
}

// `limit max_entries|key_size|value_size N for map TYPE, ...`: instead of the profile's own limit
// of that kind, for those map types. Per kind, no map type is in two entries.
struct TypeLimit {
  LimitKind kind = LimitKind::max_entries;
  uint64_t map_types = 0;  // bit = map type
  uint32_t value = 0;
  uint32_t rule = kNoRule;  // Ir::rules
  bool operator==(const TypeLimit&) const = default;
};

// The limit that applies to a map of `map_type`: a per-type one, else the profile's own.
struct AppliedLimit {
  uint32_t value = kUnlimited;
  uint32_t rule = kNoRule;
  bool per_type = false;
};

// Map types whose three size limits are the same, as the BPF programs hold them
// (tw_abi.h, tw_type_limit): each limit already resolved to the per-type or the profile's one.
struct TypeGroup {
  uint64_t map_types = 0;
  uint32_t value[3] = {kUnlimited, kUnlimited, kUnlimited};  // max_entries, key_size, value_size
};

struct Limits {
  uint32_t value[kLimitKinds] = {kUnlimited, kUnlimited, kUnlimited, kUnlimited, kUnlimited, kUnlimited,
                                 kUnlimited, kUnlimited, kUnlimited, kUnlimited, kUnlimited};
  uint32_t rule[kLimitKinds] = {kNoRule, kNoRule, kNoRule, kNoRule, kNoRule, kNoRule,
                                kNoRule, kNoRule, kNoRule, kNoRule, kNoRule};  // Ir::rules
  std::vector<TypeLimit> per_type;  // in the order written
  uint32_t forbidden_map_flags = 0;
  uint32_t map_flags_rule = kNoRule;
  bool sleepable = true;
  uint32_t sleepable_rule = kNoRule;
  bool probes = false;  // `allow probes`: libbpf's feature probes (TW_PROBE_* in tw_abi.h)
  uint32_t probes_rule = kNoRule;
  uint32_t reserve_tokens = 0;  // `reserve tokens N`: slots of the token table kept for the profile
  uint32_t reserve_rule = kNoRule;
  uint32_t operator[](LimitKind k) const { return value[static_cast<size_t>(k)]; }
  // Size limit `k` (limit_is_map_size) of a map of `map_type`.
  AppliedLimit for_map(LimitKind k, uint32_t map_type) const;
  // The map types with a per-type limit, grouped by the three sizes that apply to them.
  std::vector<TypeGroup> type_groups() const;
};

struct IrProfile {
  std::string name;
  uint64_t id = 0;     // stable identity: FNV-1a 64 of the name, never 0
  uint32_t order = 0;  // position in first-match order
  std::vector<Conjunction> match;  // DNF; empty = never matches
  bool refuse = false;  // matching tokens are refused at creation
  bool strict = false;  // refuse tokens whose bpffs delegates more than the grants
  Mode mode = Mode::enforce;
  int deny_errno = 1;   // EPERM
  Grants grants;
  std::vector<GrantRef> grant_refs;  // which rules grant which bits
  Limits limits;
  std::string where;    // "file:line:col" of the profile
  Span span;            // not serialised
};

enum class Preexisting { allow, deny, profile };

// What a policy says as a whole, once for the checker's output and the IR.
struct PolicySettings {
  std::string name;       // `policy NAME;` or the file's stem
  std::string source;     // root file as given
  std::string target_kernel;  // "6.12", "running", or "" (the builtin 6.18 catalogue)
  bool default_allow = false;
  Preexisting preexisting = Preexisting::deny;
  std::string preexisting_profile;
  Mode mode = Mode::enforce;
  int deny_errno = 1;
};

struct Ir : PolicySettings {
  std::vector<IrProfile> profiles;
  std::vector<Rule> rules;  // shared by the profiles

  // "file:line:col" of a rule, "" for kNoRule.
  const std::string& where(uint32_t rule) const;
  const IrProfile* find(std::string_view profile) const;
  const IrProfile* find_id(uint64_t id) const;
};

uint64_t profile_identity(std::string_view name);

}  // namespace tw::compiler
