// SPDX-License-Identifier: Apache-2.0
#include "catalogue.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <strings.h>

namespace tw::vocab {
namespace {

EnumTable make_builtin(EnumKind kind) {
  EnumTable t;
  t.kind = kind;
#define TW_ENUM(k, name, value) \
  if (EnumKind::k == kind) t.entries.push_back({#name, value});
#define TW_ENUM_MAX(k, value) \
  if (EnumKind::k == kind) t.max = value;
#define TW_ENUM_SINCE(k, name, major, minor)
#define TW_MAP_FLAG(name, bit)
#include "catalogue.def"
#undef TW_MAP_FLAG
#undef TW_ENUM
#undef TW_ENUM_MAX
#undef TW_ENUM_SINCE
  return t;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Removes '_' and folds case, so that "BPFMapCreate" and "BPF_MAP_CREATE" compare equal.
std::string squash(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<uint32_t> EnumTable::find(std::string_view name) const {
  for (const auto& e : entries)
    if (iequals(e.name, name)) return e.value;
  return std::nullopt;
}

std::optional<std::string> EnumTable::name_of(uint32_t value) const {
  for (const auto& e : entries)
    if (e.value == value) return to_lower(e.name);
  return std::nullopt;
}

const EnumTable& builtin_table(EnumKind kind) {
  static const std::array<EnumTable, 4> tables = {
      make_builtin(EnumKind::cmd), make_builtin(EnumKind::map), make_builtin(EnumKind::prog),
      make_builtin(EnumKind::attach)};
  return tables[static_cast<size_t>(kind)];
}

KernelVersion introduced_in(EnumKind kind, std::string_view name) {
#define TW_ENUM(k, n, value)
#define TW_ENUM_MAX(k, value)
#define TW_ENUM_SINCE(k, n, major, minor) \
  if (EnumKind::k == kind && iequals(#n, name)) return {major, minor};
#define TW_MAP_FLAG(n, bit)
#include "catalogue.def"
#undef TW_MAP_FLAG
#undef TW_ENUM
#undef TW_ENUM_MAX
#undef TW_ENUM_SINCE
  return kTokenKernel;
}

EnumTable table_for_kernel(EnumKind kind, KernelVersion version) {
  EnumTable t = builtin_table(kind);
  std::erase_if(t.entries, [&](const EnumEntry& e) { return version < introduced_in(kind, e.name); });
  t.max = 0;
  for (const auto& e : t.entries) t.max = std::max(t.max, e.value + 1);
  return t;
}

std::optional<KernelVersion> parse_kernel_version(std::string_view text) {
  KernelVersion v;
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s, int& out) {
    if (s.empty() || s.size() > 4) return false;
    out = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  std::string_view minor = text.substr(dot + 1);
  if (auto end = minor.find_first_not_of("0123456789"); end != std::string_view::npos) minor = minor.substr(0, end);
  if (!num(text.substr(0, dot), v.major) || !num(minor, v.minor)) return std::nullopt;
  return v;
}

std::string KernelVersion::str() const { return std::to_string(major) + "." + std::to_string(minor); }

namespace {
// Per-kind facts, indexed by EnumKind.
struct KindInfo {
  std::string_view option_suffix, noun, prefix, btf_enum;
};
constexpr KindInfo kKinds[] = {
    {"cmds", "command", "BPF_", "bpf_cmd"},
    {"maps", "map type", "BPF_MAP_TYPE_", "bpf_map_type"},
    {"progs", "program type", "BPF_PROG_TYPE_", "bpf_prog_type"},
    {"attachs", "attach type", "BPF_", "bpf_attach_type"},
};
const KindInfo& info(EnumKind kind) { return kKinds[static_cast<size_t>(kind)]; }
}  // namespace

std::string_view option_suffix(EnumKind kind) { return info(kind).option_suffix; }
std::string_view kind_noun(EnumKind kind) { return info(kind).noun; }
std::string_view kernel_prefix(EnumKind kind) { return info(kind).prefix; }

std::string_view kind_keyword(EnumKind kind) {
  switch (kind) {
    case EnumKind::cmd: return "cmd";
    case EnumKind::map: return "map";
    case EnumKind::prog: return "prog";
    case EnumKind::attach: return "attach";
  }
  return "cmd";
}
std::string_view btf_enum_name(EnumKind kind) { return info(kind).btf_enum; }

std::string systemd_name(EnumKind kind, std::string_view name) {
  // systemd capitalises each '_'-separated word of the full enum name after "BPF_".
  std::string full = std::string(kernel_prefix(kind)).substr(4) + std::string(name);
  std::string out = "BPF";
  bool start = true;
  for (char c : full) {
    if (c == '_') {
      start = true;
      continue;
    }
    out += static_cast<char>(start ? std::toupper(static_cast<unsigned char>(c))
                                   : std::tolower(static_cast<unsigned char>(c)));
    start = false;
  }
  return out;
}

std::optional<uint32_t> lookup_any_spelling(const EnumTable& table, std::string_view word) {
  if (auto v = table.find(word)) return v;
  std::string_view prefix = kernel_prefix(table.kind);
  if (istarts_with(word, prefix))
    if (auto v = table.find(word.substr(prefix.size()))) return v;
  // systemd spelling, compared without underscores.
  std::string w = squash(word);
  for (const auto& e : table.entries)
    if (squash(systemd_name(table.kind, e.name)) == w) return e.value;
  return std::nullopt;
}

std::vector<std::string> closest_names(std::string_view word, const std::vector<std::string>& candidates) {
  std::string w = to_lower(word);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& c : candidates) {
    std::string n = to_lower(c);
    size_t d = edit_distance(w, n);
    bool contains = w.size() >= 3 && n.find(w) != std::string::npos;
    if (d <= std::max<size_t>(2, n.size() / 3) || contains) scored.emplace_back(contains ? 0 : d, n);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [d, n] : scored) {
    if (out.size() == 3) break;
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  }
  return out;
}

std::vector<std::string> suggest(const EnumTable& table, std::string_view word) {
  std::string w = to_lower(word);
  std::string_view prefix = kernel_prefix(table.kind);
  if (istarts_with(w, prefix)) w = w.substr(prefix.size());
  std::vector<std::string> names;
  for (const auto& e : table.entries) names.push_back(e.name);
  return closest_names(w, names);
}

const std::vector<MapFlag>& map_flags() {
  static const std::vector<MapFlag> flags = {
#define TW_ENUM(k, n, value)
#define TW_ENUM_MAX(k, value)
#define TW_ENUM_SINCE(k, n, major, minor)
#define TW_MAP_FLAG(n, bit) {#n, bit},
#include "catalogue.def"
#undef TW_ENUM
#undef TW_ENUM_MAX
#undef TW_ENUM_SINCE
#undef TW_MAP_FLAG
  };
  return flags;
}

std::optional<uint32_t> map_flag_by_name(std::string_view name) {
  std::string_view n = istarts_with(name, "BPF_F_") ? name.substr(6) : name;
  for (const auto& f : map_flags())
    if (iequals(f.name, n)) return f.bit;
  return std::nullopt;
}

const std::vector<Capability>& token_capabilities() {
  static const std::vector<Capability> caps = {
#define TW_CAPABILITY(name, value) {"CAP_" #name, value},
#include "capability.def"
#undef TW_CAPABILITY
  };
  return caps;
}

std::optional<int> capability_by_name(std::string_view name) {
  for (const auto& c : token_capabilities())
    if (iequals(c.name, name) || iequals(c.name.substr(4), name)) return c.value;
  return std::nullopt;
}

std::optional<std::vector<std::string>> path_components(std::string_view path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string> parts;
  if (path == "/") return parts;
  size_t at = 1;
  while (at <= path.size()) {
    size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(at, end - at);
    if (part.empty()) {
      if (end == path.size()) break;  // one trailing slash
      return std::nullopt;
    }
    if (part == "." || part == "..") return std::nullopt;
    parts.emplace_back(part);
    at = end + 1;
  }
  return parts;
}

std::optional<uint64_t> delegated_bits(const EnumTable& table, std::string_view word) {
  if (word == "any") return table.any_mask();
  if (auto v = lookup_any_spelling(table, word); v && *v < 64) return 1ULL << *v;
  return std::nullopt;
}

std::string name_or_number(EnumKind kind, uint32_t value) {
  return builtin_table(kind).name_of(value).value_or(std::to_string(value));
}

std::string mask_names(EnumKind kind, uint64_t mask, std::string_view separator) {
  std::string s;
  for (uint32_t b = 0; b < 64; ++b)
    if (mask & (1ULL << b)) {
      if (!s.empty()) s += separator;
      s += name_or_number(kind, b);
    }
  return s;
}

std::string capability_name(int cap) {
  for (const auto& c : token_capabilities())
    if (c.value == cap) return std::string(c.name);
  return "capability " + std::to_string(cap);
}

namespace {
uint64_t mask_of(EnumKind kind, std::initializer_list<const char*> names) {
  uint64_t m = 0;
  for (const char* n : names)
    if (auto v = builtin_table(kind).find(n); v && *v < 64) m |= 1ULL << *v;
  return m;
}
}  // namespace

uint64_t net_admin_prog_types() {
  static const uint64_t m =
      mask_of(EnumKind::prog, {"sched_cls", "sched_act", "xdp", "lwt_in", "lwt_out", "lwt_xmit", "lwt_seg6local", "sk_skb",
                               "sk_msg", "flow_dissector", "cgroup_device", "cgroup_sock", "cgroup_sock_addr",
                               "cgroup_sockopt", "cgroup_sysctl", "sock_ops", "ext", "netfilter"});
  return m;
}

uint64_t perfmon_prog_types() {
  static const uint64_t m = mask_of(EnumKind::prog, {"kprobe", "tracepoint", "perf_event", "raw_tracepoint",
                                                     "raw_tracepoint_writable", "tracing", "lsm", "struct_ops", "ext"});
  return m;
}

uint64_t net_admin_map_types() {
  static const uint64_t m = mask_of(EnumKind::map, {"sockmap", "sockhash", "devmap", "devmap_hash", "xskmap"});
  return m;
}

}  // namespace tw::vocab
