// SPDX-License-Identifier: Apache-2.0
#include "import_systemd.h"

#include "import_container.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cctype>
#include <map>
#include <string_view>

#include "vocab/names.h"

namespace tw::compiler {

using vocab::EnumKind;

namespace {

// One `Key=value` of the [Service] section: where the value is, for diagnostics.
struct Setting {
  std::string value;
  Span key, at;  // the key; the value (or the key, for an empty one)
};

// A unit file as systemd reads it: sections, comments (# and ; at the start of a line), lines
// ending in a backslash continued on the next, keys kept in order of assignment.
struct UnitFile {
  std::string name;  // "tw-skeleton.service"
  std::map<std::string, std::vector<Setting>> service;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Span span_of(uint32_t file, const std::string& text, std::string_view part) {
  auto begin = static_cast<uint32_t>(part.data() - text.data());
  return {file, begin, begin + static_cast<uint32_t>(std::max<size_t>(part.size(), 1))};
}

bool parse_unit(const SourceFile& f, uint32_t id, UnitFile& unit, Diagnostics& diags) {
  const std::string& text = f.text;
  size_t slash = f.path.find_last_of('/');
  unit.name = slash == std::string::npos ? f.path : f.path.substr(slash + 1);
  std::string section;
  bool ok = true;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line = trim(std::string_view(text).substr(pos, end - pos));
    size_t next = end + 1;
    if (line.empty() || line.front() == '#' || line.front() == ';') {
      pos = next;
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']') {
        diags.report(Code::E040, span_of(id, text, line), "a section header must end with `]`")
            .hint("write `[Service]`");
        ok = false;
      }
      section = std::string(line.substr(1, line.size() - 2));
      pos = next;
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      diags.report(Code::E040, span_of(id, text, line), "expected `Key=value`")
          .hint("every line of a unit file is a section header, a comment or an assignment");
      ok = false;
      pos = next;
      continue;
    }
    if (section.empty()) {
      diags.report(Code::E040, span_of(id, text, line), "an assignment before the first section header")
          .hint("put it under `[Service]`");
      ok = false;
    }
    std::string_view key = trim(line.substr(0, eq));
    std::string_view raw = trim(line.substr(eq + 1));
    std::string value(raw);
    // A line ending in a backslash goes on with the next one, joined by a space.
    while (!value.empty() && value.back() == '\\' && next < text.size()) {
      value.pop_back();
      size_t e2 = text.find('\n', next);
      if (e2 == std::string::npos) e2 = text.size();
      std::string_view more = trim(std::string_view(text).substr(next, e2 - next));
      value += " ";
      value += more;
      next = e2 + 1;
    }
    if (section == "Service")
      unit.service[std::string(key)].push_back(
          {std::move(value), span_of(id, text, key), raw.empty() ? span_of(id, text, key) : span_of(id, text, raw)});
    pos = next;
  }
  return ok;
}

// systemd's booleans.
std::optional<bool> boolean(std::string_view v) {
  for (const char* y : {"1", "yes", "y", "true", "t", "on"})
    if (v == y) return true;
  for (const char* n : {"0", "no", "n", "false", "f", "off"})
    if (v == n) return false;
  return std::nullopt;
}

// The last assignment of `key`, or null.
const Setting* last(const UnitFile& u, const char* key) {
  auto it = u.service.find(key);
  return it == u.service.end() || it->second.empty() ? nullptr : &it->second.back();
}

// One BPFDelegate*= list: the mask it comes to (an empty assignment resets, later ones add),
// whether `any` was given, and the assignment that counts for its place.
struct Delegated {
  uint64_t mask = 0;
  bool any = false;
  const Setting* at = nullptr;
};

// A systemd spelling's kernel name, for suggestions: "BPFMapTypeLruHsah" is "lru_hsah".
std::string kernel_spelling(EnumKind kind, std::string_view word) {
  const char* prefix = kind == EnumKind::map ? "BPFMapType" : kind == EnumKind::prog ? "BPFProgType" : "BPF";
  if (word.rfind(prefix, 0) != 0) return std::string(word);
  word.remove_prefix(std::string_view(prefix).size());
  std::string out;
  for (char c : word) {
    if (c >= 'A' && c <= 'Z') {
      if (!out.empty()) out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

constexpr const char* kKeys[] = {"BPFDelegateCommands", "BPFDelegateMaps", "BPFDelegatePrograms", "BPFDelegateAttachments"};

bool delegated(const UnitFile& u, EnumKind kind, uint32_t id, Delegated& out, Diagnostics& diags) {
  const char* key = kKeys[static_cast<size_t>(kind)];
  auto it = u.service.find(key);
  if (it == u.service.end()) return true;
  const vocab::EnumTable& table = vocab::builtin_table(kind);
  bool ok = true;
  for (const Setting& s : it->second) {
    out.at = &s;
    if (s.value.empty()) {
      out = {0, false, &s};
      continue;
    }
    std::string_view rest = s.value;
    size_t offset = 0;
    while (!rest.empty()) {
      size_t cut = rest.find_first_of(", \t");
      std::string_view word = rest.substr(0, cut);
      if (!word.empty()) {
        Span at{id, s.at.begin + static_cast<uint32_t>(offset), s.at.begin + static_cast<uint32_t>(offset + word.size())};
        if (auto bits = vocab::delegated_bits(table, word)) {
          out.any |= word == "any";
          out.mask |= *bits;
        } else {
          auto& d = diags.report(Code::E040, at, fmt::format("`{}` is not a {} systemd knows ({}=)", word, vocab::kind_noun(kind), key));
          auto close = vocab::suggest(table, kernel_spelling(kind, word));
          if (!close.empty()) d.hint(fmt::format("did you mean {}?", vocab::systemd_name(kind, close.front())));
          ok = false;
        }
      }
      if (cut == std::string_view::npos) break;
      offset += cut + 1;
      rest.remove_prefix(cut + 1);
    }
  }
  return ok;
}

// A template's prefix as systemd escapes it into its instances' slice name (unit_name_escape):
// letters, digits, `:`, `_` and a `.` that does not lead stay, `/` is `-`, anything else, `-`
// included, is `\xNN`; so foo-bar@.service's instances go to system-foo\x2dbar.slice, one slice
// below system.slice, not two.
std::string slice_escape(std::string_view prefix) {
  std::string out;
  for (size_t i = 0; i < prefix.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(prefix[i]);
    if (c == '/')
      out += '-';
    else if (std::isalnum(c) || c == ':' || c == '_' || (c == '.' && i > 0))
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

// The cgroup systemd makes for the unit at every start, below the cgroup2 root: its slice's
// path ("a-b.slice" is /a.slice/a-b.slice), then the unit. A template (foo@.service) names the
// slice its instances go to.
std::string cgroup_of(const UnitFile& u, bool& is_template) {
  std::string name = u.name;
  size_t at = name.find('@');
  is_template = at != std::string::npos && name.compare(at, std::string::npos, "@.service") == 0;
  std::string slice;
  if (const Setting* s = last(u, "Slice"); s && !s->value.empty()) slice = s->value;
  else if (at != std::string::npos) slice = "system-" + slice_escape(std::string_view(name).substr(0, at)) + ".slice";
  else slice = "system.slice";
  std::string path;
  std::string stem = slice.substr(0, slice.size() - 6);  // without ".slice"
  for (size_t dash = stem.find('-'); dash != std::string::npos; dash = stem.find('-', dash + 1))
    path += "/" + stem.substr(0, dash) + ".slice";
  path += "/" + slice;
  if (!is_template) path += "/" + name;
  return path;
}

std::string profile_name(std::string unit) {
  if (unit.size() > 8 && unit.compare(unit.size() - 8, 8, ".service") == 0) unit.resize(unit.size() - 8);
  for (char& c : unit)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      c = '-';
  while (!unit.empty() && (unit.back() == '-' || unit.back() == '.')) unit.pop_back();
  if (unit.empty() || !((unit[0] >= 'a' && unit[0] <= 'z') || (unit[0] >= 'A' && unit[0] <= 'Z') || unit[0] == '_'))
    unit = "unit-" + unit;
  return unit;
}

std::string names(EnumKind kind, uint64_t mask) {
  std::string out;
  for (uint32_t v = 0; v < 64; ++v)
    if (mask & (1ULL << v))
      out += (out.empty() ? "" : ", ") + vocab::builtin_table(kind).name_of(v).value_or(std::to_string(v));
  return out;
}

int line_of(const SourceSet& sources, Span s) { return static_cast<int>(sources.locate(s).line); }

}  // namespace

std::optional<std::string> import_systemd(const SourceSet& sources, uint32_t first, Diagnostics& diags,
                                          const SystemdImportOptions& options) {
  const uint64_t net_admin_progs = vocab::net_admin_prog_types();
  const uint64_t perfmon_progs = vocab::perfmon_prog_types();

  std::string out;
  bool ok = true;
  for (uint32_t id = first; id < sources.size(); ++id) {
    const SourceFile& f = sources.file(id);
    UnitFile u;
    if (!parse_unit(f, id, u, diags)) {
      ok = false;
      continue;
    }
    Span whole{id, 0, 1};
    if (u.name.size() < 8 || u.name.compare(u.name.size() - 8, 8, ".service") != 0 ||
        u.name.find_first_of("\\\"") != std::string::npos) {
      diags.report(Code::E040, whole, fmt::format("`{}` is not a service unit's file name", u.name))
          .hint("name the unit file as systemd does: NAME.service or NAME@.service");
      ok = false;
      continue;
    }
    std::array<Delegated, 4> d{};
    bool names_ok = true;
    for (EnumKind kind : vocab::kAllKinds) names_ok &= delegated(u, kind, id, d[static_cast<size_t>(kind)], diags);
    if (!names_ok) {
      ok = false;
      continue;
    }
    const Setting* private_bpf = last(u, "PrivateBPF");
    std::optional<bool> on = private_bpf ? boolean(private_bpf->value) : std::optional<bool>(false);
    if (!on) {
      diags.report(Code::E040, private_bpf->at, fmt::format("`PrivateBPF={}` is not a boolean", private_bpf->value))
          .hint("write PrivateBPF=yes");
      ok = false;
      continue;
    }
    bool any_delegation = false;
    for (const auto& x : d) any_delegation |= x.mask != 0;
    if (!*on) {
      if (any_delegation) {
        for (EnumKind kind : vocab::kAllKinds)
          if (const Delegated& x = d[static_cast<size_t>(kind)]; x.mask)
            diags.report(Code::W122, x.at->key,
                         fmt::format("systemd ignores {}= without PrivateBPF=yes", kKeys[static_cast<size_t>(kind)]))
                .hint("add PrivateBPF=yes, or drop the setting");
      }
      diags.report(Code::E041, private_bpf ? private_bpf->at : whole,
                   fmt::format("`{}` delegates nothing: it has no PrivateBPF=yes", u.name))
          .hint("import the units that set PrivateBPF=yes with BPFDelegate*= settings");
      ok = false;
      continue;
    }
    if (!any_delegation) {
      diags.report(Code::E041, private_bpf->at,
                   fmt::format("`{}` delegates nothing: PrivateBPF=yes without BPFDelegateCommands= and the others", u.name))
          .hint("its bpffs carries no delegation, and no token can be made from it");
      ok = false;
      continue;
    }

    // Lints on the delegation itself.
    const Delegated &cmds = d[0], &maps = d[1], &progs = d[2], &attachs = d[3];
    for (EnumKind kind : vocab::kAllKinds)
      if (const Delegated& x = d[static_cast<size_t>(kind)]; x.any)
        diags.report(Code::W120, x.at->at,
                     fmt::format("{}=any delegates every {}, also those later kernels add", kKeys[static_cast<size_t>(kind)],
                                 vocab::kind_noun(kind)))
            .hint("list what the service uses; the imported profile can be no stricter than the delegation");
    const Setting* users = last(u, "PrivateUsers");
    std::optional<bool> own_userns = users ? boolean(users->value) : std::optional<bool>(false);
    if (users && !own_userns) own_userns = users->value == "self" || users->value == "identity" || users->value == "full" ||
                                           users->value == "managed";
    if (!own_userns || !*own_userns)
      diags.report(Code::W123, private_bpf->at,
                   "PrivateBPF=yes without a user namespace of the unit's own: the bpffs belongs to the initial one, "
                   "and no token can be created from it (EOPNOTSUPP)")
          .hint("add PrivateUsers=yes (with PrivateMounts=yes and DelegateNamespaces=mnt, as systemd's own tests do)");
    if (options.kernel && *options.kernel < vocab::kTokenKernel)
      diags.report(Code::W124, private_bpf->at,
                   fmt::format("kernel {} has no BPF tokens: systemd silently starts the unit with no delegation",
                               options.kernel->str()))
          .hint(fmt::format("tokens need Linux {} or later", vocab::kTokenKernel.str()));
    bool map_create = cmds.mask & (1ULL << vocab::cmd::MAP_CREATE);
    bool prog_load = cmds.mask & (1ULL << vocab::cmd::PROG_LOAD);
    if (map_create && !maps.mask)
      diags.report(Code::W125, cmds.at->at, "BPFMapCreate is delegated without BPFDelegateMaps=: every map creation fails")
          .hint("add BPFDelegateMaps= with the map types the service makes");
    if (maps.mask && !map_create)
      diags.report(Code::W125, maps.at->key, "map types are delegated without BPFMapCreate in BPFDelegateCommands=")
          .hint("add BPFMapCreate, or drop BPFDelegateMaps=");
    if (prog_load && (!progs.mask || !attachs.mask))
      diags.report(Code::W125, cmds.at->at,
                   fmt::format("BPFProgLoad is delegated without BPFDelegate{}=: every program load fails",
                               !progs.mask ? "Programs" : "Attachments"))
          .hint("the kernel checks the program type and the expected attach type of every load");
    if ((progs.mask || attachs.mask) && !prog_load)
      diags.report(Code::W125, (progs.mask ? progs : attachs).at->key,
                   "program or attach types are delegated without BPFProgLoad in BPFDelegateCommands=")
          .hint("add BPFProgLoad, or drop them");
    if (progs.mask && attachs.mask && !(attachs.mask & (1ULL << vocab::attach::CGROUP_INET_INGRESS)))
      diags.report(Code::W121, attachs.at->at,
                   "BPFCgroupInetIngress is not delegated: it is attach type 0, which every program type that "
                   "has no attach type of its own is loaded with (socket filters, kprobes, XDP without one), so "
                   "those loads fail")
          .hint("add BPFCgroupInetIngress; it also lets cgroup_skb ingress programs load when they are delegated");
    if (progs.mask & perfmon_progs & ~net_admin_progs)
      diags.report(Code::W106, progs.at->at,
                   fmt::format("the unit delegates {}: with CAP_PERFMON in its namespace such programs read all kernel "
                               "memory, whatever namespace the token lives in",
                               names(EnumKind::prog, progs.mask & perfmon_progs)))
          .hint("the imported profile grants CAP_PERFMON, which they need to load");

    // The profile.
    bool is_template = false;
    std::string cgroup = cgroup_of(u, is_template);
    std::string name = profile_name(u.name);
    auto line = [&](const Delegated& x) { return line_of(sources, x.at->key); };
    out += fmt::format("# {} (PrivateBPF=yes, line {}): what systemd delegates to {}.\n", f.path, line_of(sources, private_bpf->key),
                       is_template ? "each start of each instance" : "each start of the unit");
    if (const Setting* exec = last(u, "ExecStart"))
      out += fmt::format("# ExecStart={}\n", exec->value.size() > 90 ? exec->value.substr(0, 87) + "..." : exec->value);
    out += fmt::format("profile {} {{\n", name);
    out += fmt::format("  # its cgroup at every start{}, and the bpffs systemd mounts for it\n",
                       is_template ? " of every instance" : "");
    out += fmt::format("  match creator.cgroup under {}\n    and token.bpffs == \"/sys/fs/bpf\";\n",
                       nlohmann::json(cgroup).dump());  // a policy string: `\` and `"` escaped
    out += "  # a token of a bpffs delegating more than this (a unit widened since) is refused\n  strict;\n";
    auto allow = [&](EnumKind kind, const Delegated& x) {
      if (!x.mask) return;
      std::string what = x.any ? "any" : names(kind, x.mask);
      out += fmt::format("  allow {} {};  # {}= (line {})\n", vocab::kind_keyword(kind), what, kKeys[static_cast<size_t>(kind)],
                         line(x));
    };
    for (EnumKind kind : vocab::kAllKinds) allow(kind, d[static_cast<size_t>(kind)]);
    auto [caps, why] = delegated_capabilities(progs.mask, maps.mask);
    out += fmt::format("  allow cap {};  # {}\n", caps, why);
    if (!(progs.mask & perfmon_progs) && prog_load)
      out += "  # CAP_PERFMON is not granted: the verifier asks for it at every load and refusing it fails nothing\n";
    out += "}\n\n";
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace tw::compiler
