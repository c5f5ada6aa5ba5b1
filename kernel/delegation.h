// SPDX-License-Identifier: Apache-2.0
// bpffs delegation options (delegate_cmds/maps/progs/attachs): the kernel's parser and printer
// reproduced exactly, plus tokenwarden's own friendlier list syntax.
//
// Kernel semantics (kernel/bpf/inode.c, bpf_parse_param / seq_print_delegate_opts):
//  - the value is a ':'-separated list; "any" (case-sensitive) sets all 64 bits; a name is
//    looked up case-insensitively without its prefix in the running kernel's BTF enum;
//  - anything else is parsed as kstrtou64(item, 0) and OVERWRITES the mask built so far, so
//    "map_create:0x20" means only prog_load while "0x20:map_create" means both;
//  - an unparsable item fails the whole option with EINVAL (ERANGE on overflow);
//  - repeating an option ORs the masks;
//  - /proc/mounts drops bits >= __MAX_*, prints "any" when all known bits are set, otherwise
//    lower-case names in enum declaration order (first alias wins) followed by leftover bits
//    in hex.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vocab/catalogue.h"

namespace tw::kernel {

struct DelegationMasks {
  uint64_t cmds = 0, maps = 0, progs = 0, attachs = 0;

  uint64_t& of(vocab::EnumKind kind);
  uint64_t of(vocab::EnumKind kind) const;
  bool empty() const { return !(cmds | maps | progs | attachs); }
  friend bool operator==(const DelegationMasks&, const DelegationMasks&) = default;
};

struct OptionParseError {
  std::string item;     // the list item that failed
  int err = 0;          // EINVAL or ERANGE, as the kernel would return
  std::string message;  // with a "did you mean" when one fits
};

struct OptionParse {
  uint64_t mask = 0;
  std::vector<OptionParseError> errors;  // empty on success
  bool ok() const { return errors.empty(); }
};

// Parses a delegate_* value exactly as the kernel does against `table`.
OptionParse parse_kernel_option(const vocab::EnumTable& table, std::string_view value);

// What /proc/mounts prints after "delegate_<suffix>=" for this mask; empty for no bits.
std::string format_proc_option(const vocab::EnumTable& table, uint64_t mask);

// A value to hand to fsconfig() that the kernel parses back to exactly `mask`: leftover bits in
// hex first (numbers overwrite), then names; "any" for all 64 bits; "0" for none.
std::string format_fsconfig_value(const vocab::EnumTable& table, uint64_t mask);

// tokenwarden's own list syntax (CLI flags, policies): items separated by ',' or ':'; each item
// is "any", a number (ORed, never overwriting), or a name in any spelling: kernel short name,
// full enum name or systemd name, case-insensitive.
OptionParse parse_user_list(const vocab::EnumTable& table, std::string_view text);

// Reads the delegate_* options of one /proc/mounts option field ("rw,relatime,delegate_cmds=...").
DelegationMasks parse_proc_mount_options(std::string_view options,
                                         const vocab::EnumTable* tables[4] = nullptr);

// Lower-case names of the bits set in mask (no hex), for display.
std::vector<std::string> mask_names(const vocab::EnumTable& table, uint64_t mask);

}  // namespace tw::kernel
