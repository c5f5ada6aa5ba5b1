// SPDX-License-Identifier: Apache-2.0
// The catalogue of BPF commands, map types, program types, attach types and the capabilities a
// token can stand in for. One table (catalogue.def) feeds the delegation option parser and
// printer, CLI help, the compiler and the tests. A table can also be read from a running
// kernel's BTF (btf.h), which is what the kernel itself parses mount options against.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw::vocab {

enum class EnumKind { cmd, map, prog, attach };
inline constexpr EnumKind kAllKinds[] = {EnumKind::cmd, EnumKind::map, EnumKind::prog,
                                         EnumKind::attach};

struct EnumEntry {
  std::string name;  // upper case, without the kernel prefix: "MAP_CREATE", "HASH", "XDP"
  uint32_t value = 0;
};

// One kernel enum in declaration order, aliases included, with its __MAX_ value.
struct EnumTable {
  EnumKind kind = EnumKind::cmd;
  std::vector<EnumEntry> entries;
  uint32_t max = 0;  // __MAX_BPF_CMD etc.: bits [0, max) are "any"

  // Kernel lookup: case-insensitive, name without prefix (find_btf_enum_const).
  std::optional<uint32_t> find(std::string_view name) const;
  // First name a value has in declaration order, lower case (what /proc/mounts prints).
  std::optional<std::string> name_of(uint32_t value) const;
  uint64_t any_mask() const { return max >= 64 ? ~0ULL : (1ULL << max) - 1; }
};

// The table compiled into tokenwarden (up to Linux 7.3).
const EnumTable& builtin_table(EnumKind kind);

struct KernelVersion {
  int major = 0, minor = 0;
  auto operator<=>(const KernelVersion&) const = default;
  std::string str() const;
};
inline constexpr KernelVersion kTokenKernel{6, 9};     // first kernel with BPF tokens
inline constexpr KernelVersion kCatalogueKernel{7, 3};  // the newest kernel catalogue.def is checked against
// "6.12", "7.3.4", "6.12.95-cloud-amd64" -> {6, 12}.
std::optional<KernelVersion> parse_kernel_version(std::string_view text);
// The kernel that added a value (kTokenKernel for everything at least as old as tokens).
KernelVersion introduced_in(EnumKind kind, std::string_view name);
// The builtin table without the values `version` lacks ("__MAX_" adjusted accordingly).
EnumTable table_for_kernel(EnumKind kind, KernelVersion version);

// "cmds", "maps", "progs", "attachs": the suffix of the delegate_* mount option.
std::string_view option_suffix(EnumKind kind);
// "cmd", "map", "prog", "attach": the policy language's word (`allow map ...`).
std::string_view kind_keyword(EnumKind kind);
// "command", "map type", "program type", "attach type".
std::string_view kind_noun(EnumKind kind);
// The kernel's prefix for this enum: "BPF_", "BPF_MAP_TYPE_", "BPF_PROG_TYPE_", "BPF_".
std::string_view kernel_prefix(EnumKind kind);
// BTF enum name: "bpf_cmd", "bpf_map_type", ...
std::string_view btf_enum_name(EnumKind kind);
// systemd's spelling: "BPFMapCreate", "BPFMapTypeHash", "BPFProgTypeXdp", "BPFCgroupInetIngress".
std::string systemd_name(EnumKind kind, std::string_view name);

// Accepts every spelling users write: kernel short name ("map_create"), full enum name
// ("BPF_MAP_CREATE"), systemd name ("BPFMapCreate"); case-insensitive.
std::optional<uint32_t> lookup_any_spelling(const EnumTable& table, std::string_view word);
// Up to three known names close to `word`, for "did you mean".
std::vector<std::string> suggest(const EnumTable& table, std::string_view word);
// Up to three of `candidates` close to `word` (edit distance or containment), lower case.
std::vector<std::string> closest_names(std::string_view word, const std::vector<std::string>& candidates);

struct Capability {
  std::string_view name;  // "CAP_BPF"
  int value;
};
// The capabilities bpf_token_capable() is asked about.
// One word of a delegation list (a mount option's, a delegator's setting): `any` (every value
// of the table) or a name in any spelling, as the bits it delegates; nullopt for an unknown word.
std::optional<uint64_t> delegated_bits(const EnumTable& table, std::string_view word);

// A value's name in the builtin table, or its number; the names of a mask's values, joined.
std::string name_or_number(EnumKind kind, uint32_t value);
std::string mask_names(EnumKind kind, uint64_t mask, std::string_view separator = ", ");
// "CAP_BPF", or "capability N" for one no token check asks.
std::string capability_name(int cap);

// The types for which the kernel asks the token for a capability beyond CAP_BPF before it lets
// one be loaded or created (kernel/bpf/syscall.c: is_net_admin_prog_type, is_perfmon_prog_type,
// and the map types map_create checks CAP_NET_ADMIN for), as masks of the builtin tables.
uint64_t net_admin_prog_types();
uint64_t perfmon_prog_types();
uint64_t net_admin_map_types();

const std::vector<Capability>& token_capabilities();
std::optional<int> capability_by_name(std::string_view name);  // "CAP_BPF", "bpf", "cap_bpf"

struct MapFlag {
  std::string_view name;  // "MMAPABLE" (without BPF_F_)
  uint32_t bit;
};
const std::vector<MapFlag>& map_flags();
std::optional<uint32_t> map_flag_by_name(std::string_view name);  // "mmapable", "BPF_F_MMAPABLE" -> bit

std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);

// "/a/b" into {"a", "b"}; nothing when the path is not absolute and canonical (no `.`, `..` or
// empty components).
std::optional<std::vector<std::string>> path_components(std::string_view path);

}  // namespace tw::vocab
