// SPDX-License-Identifier: Apache-2.0
#include "delegation.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cerrno>

namespace tw::kernel {
namespace {

std::vector<std::string_view> split(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || seps.find(s[i]) != std::string_view::npos) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// The kernel's kstrtou64(s, 0, &v): optional '+', base from "0x"/"0" prefix, at least one
// digit, one optional trailing newline. Returns 0 or -EINVAL/-ERANGE.
int kstrtou64(std::string_view s, uint64_t& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  unsigned base = 10;
  if (s.size() >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
      std::isxdigit(static_cast<unsigned char>(s[2]))) {
    base = 16;
    s.remove_prefix(2);
  } else if (!s.empty() && s[0] == '0') {
    base = 8;
  }
  uint64_t v = 0;
  size_t digits = 0;
  bool overflow = false;
  for (; digits < s.size(); ++digits) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[digits])));
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else break;
    if (d >= base) break;
    if (v > (UINT64_MAX - d) / base) overflow = true;
    v = v * base + d;
  }
  if (digits == 0) return -EINVAL;
  std::string_view rest = s.substr(digits);
  if (!rest.empty() && rest != "\n") return -EINVAL;
  if (overflow) return -ERANGE;
  out = v;
  return 0;
}

OptionParseError unknown_item(const vocab::EnumTable& table, std::string_view item, int err) {
  std::string msg = fmt::format("unknown {} '{}'", vocab::kind_noun(table.kind), item);
  if (err == ERANGE) msg = fmt::format("number '{}' does not fit in 64 bits", item);
  auto near = vocab::suggest(table, item);
  if (err != ERANGE && !near.empty()) msg += fmt::format("; did you mean '{}'?", fmt::join(near, "', '"));
  return OptionParseError{std::string(item), err, std::move(msg)};
}

}  // namespace

uint64_t& DelegationMasks::of(vocab::EnumKind kind) {
  switch (kind) {
    case vocab::EnumKind::cmd: return cmds;
    case vocab::EnumKind::map: return maps;
    case vocab::EnumKind::prog: return progs;
    case vocab::EnumKind::attach: return attachs;
  }
  return cmds;
}

uint64_t DelegationMasks::of(vocab::EnumKind kind) const {
  return const_cast<DelegationMasks*>(this)->of(kind);
}

OptionParse parse_kernel_option(const vocab::EnumTable& table, std::string_view value) {
  OptionParse r;
  for (std::string_view item : split(value, ":")) {
    if (item == "any") {
      r.mask |= ~0ULL;
    } else if (auto v = table.find(item)) {
      r.mask |= 1ULL << *v;
    } else {
      int err = kstrtou64(item, r.mask);
      if (err) {
        r.errors.push_back(unknown_item(table, item, -err));
        return r;  // the kernel stops at the first bad item
      }
    }
  }
  return r;
}

std::string format_proc_option(const vocab::EnumTable& table, uint64_t mask) {
  const uint64_t any = table.any_mask();
  mask &= any;
  if (mask == 0) return {};
  if (mask == any) return "any";
  std::string out;
  for (const auto& e : table.entries) {
    uint64_t bit = 1ULL << e.value;
    if (mask & bit) {
      if (!out.empty()) out += ':';
      out += vocab::to_lower(e.name);
      mask &= ~bit;
    }
  }
  if (mask) out += fmt::format("{}0x{:x}", out.empty() ? "" : ":", mask);
  return out;
}

std::string format_fsconfig_value(const vocab::EnumTable& table, uint64_t mask) {
  if (mask == ~0ULL) return "any";
  if (mask == 0) return "0";
  uint64_t named = 0;
  std::vector<std::string> names;
  for (const auto& e : table.entries) {
    uint64_t bit = 1ULL << e.value;
    if ((mask & bit) && !(named & bit)) {
      names.push_back(vocab::to_lower(e.name));
      named |= bit;
    }
  }
  std::string out;
  if (uint64_t rest = mask & ~named) out = fmt::format("0x{:x}", rest);  // numbers overwrite: first
  for (const auto& n : names) out += (out.empty() ? "" : ":") + n;
  return out;
}

OptionParse parse_user_list(const vocab::EnumTable& table, std::string_view text) {
  OptionParse r;
  for (std::string_view item : split(text, ",:")) {
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (item.empty()) continue;
    if (vocab::to_lower(item) == "any") {
      r.mask |= ~0ULL;
    } else if (auto v = vocab::lookup_any_spelling(table, item)) {
      r.mask |= 1ULL << *v;
    } else {
      uint64_t n = 0;
      int err = kstrtou64(item, n);
      if (err) r.errors.push_back(unknown_item(table, item, -err));
      else r.mask |= n;
    }
  }
  return r;
}

DelegationMasks parse_proc_mount_options(std::string_view options, const vocab::EnumTable* tables[4]) {
  DelegationMasks m;
  for (std::string_view opt : split(options, ",")) {
    for (vocab::EnumKind kind : vocab::kAllKinds) {
      std::string key = fmt::format("delegate_{}=", vocab::option_suffix(kind));
      if (opt.substr(0, key.size()) != key) continue;
      const vocab::EnumTable& table = tables && tables[static_cast<int>(kind)]
                                   ? *tables[static_cast<int>(kind)]
                                   : vocab::builtin_table(kind);
      // /proc/mounts prints hex last; OR every item so that it is not mistaken for an overwrite.
      for (std::string_view item : split(opt.substr(key.size()), ":")) {
        if (item == "any") {
          m.of(kind) |= table.any_mask();
        } else if (auto v = table.find(item)) {
          m.of(kind) |= 1ULL << *v;
        } else {
          uint64_t n = 0;
          if (kstrtou64(item, n) == 0) m.of(kind) |= n;
        }
      }
    }
  }
  return m;
}

std::vector<std::string> mask_names(const vocab::EnumTable& table, uint64_t mask) {
  std::vector<std::string> out;
  for (const auto& e : table.entries) {
    uint64_t bit = 1ULL << e.value;
    if (mask & bit) {
      out.push_back(vocab::to_lower(e.name));
      mask &= ~bit;
    }
  }
  return out;
}

}  // namespace tw::kernel
