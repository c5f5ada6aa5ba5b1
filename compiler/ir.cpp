// SPDX-License-Identifier: Apache-2.0
#include "ir.h"

#include "vocab/catalogue.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace tw::compiler {

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::enforce: return "enforce";
    case Mode::audit: return "audit";
    case Mode::off: return "off";
  }
  return "enforce";
}

std::optional<Mode> mode_from_name(std::string_view s) {
  std::string l = vocab::to_lower(s);
  if (l == "enforce") return Mode::enforce;
  if (l == "audit") return Mode::audit;
  if (l == "off") return Mode::off;
  return std::nullopt;
}

namespace {
struct AttrInfo {
  std::string_view name;
  bool numeric;
  uint32_t max;
};
constexpr AttrInfo kAttrs[] = {
#define TW_ATTR(ENUM, ident, spelling, numeric, max) {spelling, numeric != 0, max},
#include "vocab/attr.def"
#undef TW_ATTR
};
// The IR's attributes are the ABI's, value for value (tw_atom.attr).
#define TW_ATTR(ENUM, ident, spelling, numeric, max) \
  static_assert(static_cast<int>(Attr::ident) == TW_ATTR_##ENUM, "Attr::" #ident " is not TW_ATTR_" #ENUM);
#include "vocab/attr.def"
#undef TW_ATTR
static_assert(std::size(kAttrs) == kAttrCount);
}  // namespace

std::string_view attr_name(Attr a) { return kAttrs[static_cast<size_t>(a)].name; }
bool attr_is_numeric(Attr a) { return kAttrs[static_cast<size_t>(a)].numeric; }
uint32_t attr_max(Attr a) { return kAttrs[static_cast<size_t>(a)].max; }

bool is_canonical_cgroup_path(std::string_view v) { return vocab::path_components(v).has_value(); }

IntervalSet::IntervalSet(std::vector<std::pair<uint32_t, uint32_t>> ranges) {
  std::erase_if(ranges, [](const auto& r) { return r.first > r.second; });
  std::sort(ranges.begin(), ranges.end());
  for (const auto& r : ranges) {
    if (!ranges_.empty() && (r.first <= ranges_.back().second ||
                             (ranges_.back().second != UINT32_MAX && r.first == ranges_.back().second + 1)))
      ranges_.back().second = std::max(ranges_.back().second, r.second);
    else
      ranges_.push_back(r);
  }
}

bool IntervalSet::contains(uint32_t v) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), std::make_pair(v, UINT32_MAX));
  return it != ranges_.begin() && std::prev(it)->second >= v;
}

IntervalSet IntervalSet::intersect(const IntervalSet& other) const {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  size_t i = 0, j = 0;
  while (i < ranges_.size() && j < other.ranges_.size()) {
    uint32_t lo = std::max(ranges_[i].first, other.ranges_[j].first);
    uint32_t hi = std::min(ranges_[i].second, other.ranges_[j].second);
    if (lo <= hi) out.emplace_back(lo, hi);
    (ranges_[i].second < other.ranges_[j].second ? i : j)++;
  }
  IntervalSet r;
  r.ranges_ = std::move(out);
  return r;
}

bool IntervalSet::subset_of(const IntervalSet& other) const { return intersect(other) == *this; }

IntervalSet IntervalSet::complement(uint32_t max) const {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  uint64_t next = 0;
  for (const auto& [lo, hi] : ranges_) {
    if (lo > max) break;
    if (lo > next) out.emplace_back(static_cast<uint32_t>(next), lo - 1);
    next = static_cast<uint64_t>(hi) + 1;
  }
  if (next <= max) out.emplace_back(static_cast<uint32_t>(next), max);
  return IntervalSet(std::move(out));
}

std::string IntervalSet::str() const {
  std::string s;
  for (const auto& [lo, hi] : ranges_) {
    if (!s.empty()) s += ", ";
    s += std::to_string(lo);
    if (hi != lo) s += ".." + std::to_string(hi);
  }
  return s.empty() ? "(nothing)" : s;
}

std::string_view grant_kind_name(GrantKind k) {
  constexpr std::string_view names[] = {"cmd", "map", "prog", "attach", "cap"};
  return names[static_cast<size_t>(k)];
}

std::string_view limit_name(LimitKind k) {
  constexpr std::string_view names[] = {"max_entries",   "key_size",   "value_size",   "insns",
                                        "maps",          "progs",      "tokens",       "profile_maps",
                                        "profile_progs", "uid_tokens", "userns_tokens"};
  static_assert(std::size(names) == kLimitKinds);
  return names[static_cast<size_t>(k)];
}

std::optional<LimitKind> limit_from_name(std::string_view s) {
  std::string l = vocab::to_lower(s);
  for (size_t i = 0; i <= static_cast<size_t>(LimitKind::tokens); ++i)
    if (limit_name(static_cast<LimitKind>(i)) == l) return static_cast<LimitKind>(i);
  return std::nullopt;
}

std::string limit_statement(LimitKind k, uint32_t value) {
  if (k == LimitKind::profile_maps) return fmt::format("limit maps {} per profile", value);
  if (k == LimitKind::profile_progs) return fmt::format("limit progs {} per profile", value);
  if (k == LimitKind::uid_tokens) return fmt::format("limit tokens {} per uid", value);
  if (k == LimitKind::userns_tokens) return fmt::format("limit tokens {} per userns", value);
  return fmt::format("limit {} {}", limit_name(k), value);
}

AppliedLimit Limits::for_map(LimitKind k, uint32_t map_type) const {
  for (const auto& t : per_type)
    if (t.kind == k && map_type < 64 && (t.map_types & (1ULL << map_type))) return {t.value, t.rule, true};
  return {(*this)[k], rule[static_cast<size_t>(k)], false};
}

std::vector<TypeGroup> Limits::type_groups() const {
  uint64_t typed = 0;
  for (const auto& t : per_type) typed |= t.map_types;
  std::vector<TypeGroup> groups;
  for (uint32_t type = 0; type < 64; ++type) {
    if (!(typed & (1ULL << type))) continue;
    TypeGroup g;
    g.map_types = 1ULL << type;
    constexpr LimitKind sizes[] = {LimitKind::max_entries, LimitKind::key_size, LimitKind::value_size};
    for (size_t i = 0; i < 3; ++i) g.value[i] = for_map(sizes[i], type).value;
    auto same = std::find_if(groups.begin(), groups.end(), [&](const TypeGroup& o) {
      return std::equal(std::begin(o.value), std::end(o.value), std::begin(g.value));
    });
    if (same == groups.end())
      groups.push_back(g);
    else
      same->map_types |= g.map_types;
  }
  return groups;
}

const std::string& Ir::where(uint32_t rule) const {
  static const std::string none;
  return rule < rules.size() ? rules[rule].where : none;
}

const IrProfile* Ir::find(std::string_view profile) const {
  for (const auto& p : profiles)
    if (p.name == profile) return &p;
  return nullptr;
}

const IrProfile* Ir::find_id(uint64_t id) const {
  for (const auto& p : profiles)
    if (p.id == id) return &p;
  return nullptr;
}

uint64_t profile_identity(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h ? h : 1;  // 0 means "no profile" in the kernel's token state
}

}  // namespace tw::compiler
