// SPDX-License-Identifier: Apache-2.0
#include "import_container.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

#include "vocab/catalogue.h"
#include "vocab/names.h"

namespace tw::compiler {

using vocab::EnumKind;

namespace {

struct Keys {
  const char* manager;           // "Incus"
  const char* kinds[4];          // per EnumKind
  const char* enable = nullptr;  // LXD's switch
};
constexpr Keys kIncus = {"Incus",
                         {"security.bpffs.delegate_cmds", "security.bpffs.delegate_maps", "security.bpffs.delegate_progs",
                          "security.bpffs.delegate_attachs"}};
constexpr Keys kLxd = {"LXD",
                       {"security.delegate_bpf.cmd_types", "security.delegate_bpf.map_types",
                        "security.delegate_bpf.prog_types", "security.delegate_bpf.attach_types"},
                       "security.delegate_bpf"};

// Where a key's value is in the file: `"key": "value"` as `query` prints it. The whole file when
// it cannot be found (a key spelled with escapes).
Span place(uint32_t file, const std::string& text, const std::string& key, bool value, size_t from = 0) {
  std::string quoted = nlohmann::json(key).dump();
  size_t at = text.find(quoted, from);
  if (at == std::string::npos) at = text.find(quoted);
  if (at == std::string::npos) return {file, 0, 1};
  if (!value) return {file, static_cast<uint32_t>(at), static_cast<uint32_t>(at + quoted.size())};
  size_t v = text.find('"', text.find(':', at + quoted.size()));
  if (v == std::string::npos) return {file, static_cast<uint32_t>(at), static_cast<uint32_t>(at + quoted.size())};
  size_t end = text.find('"', v + 1);
  return {file, static_cast<uint32_t>(v + 1), static_cast<uint32_t>(end == std::string::npos ? v + 1 : std::max(end, v + 2))};
}

struct Delegated {
  uint64_t mask = 0;
  bool any = false, set = false;
  Span key, value;
  uint32_t line = 0;
};

bool parse_list(EnumKind kind, const std::string& key, const std::string& value, Span at, Delegated& out, Diagnostics& diags) {
  const vocab::EnumTable& table = vocab::builtin_table(kind);
  bool ok = true;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t cut = value.find_first_of(",: \t", pos);
    std::string word = value.substr(pos, cut == std::string::npos ? std::string::npos : cut - pos);
    if (!word.empty()) {
      Span w{at.file, at.begin + static_cast<uint32_t>(pos), at.begin + static_cast<uint32_t>(pos + word.size())};
      if (auto bits = vocab::delegated_bits(table, word)) {
        out.any |= word == "any";
        out.mask |= *bits;
      } else {
        auto& d = diags.report(Code::E040, w, fmt::format("`{}` is not a {} ({})", word, vocab::kind_noun(kind), key));
        if (auto close = vocab::suggest(table, word); !close.empty()) d.hint(fmt::format("did you mean {}?", close.front()));
        ok = false;
      }
    }
    if (cut == std::string::npos) break;
    pos = cut + 1;
  }
  return ok;
}

std::string names(EnumKind kind, uint64_t mask) { return vocab::mask_names(kind, mask); }

std::string profile_name(const std::string& prefix, const std::string& instance) {
  std::string n = prefix + "-" + instance;
  for (char& c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) c = '-';
  return n;
}

}  // namespace

std::pair<std::string, std::string> delegated_capabilities(uint64_t progs, uint64_t maps) {
  std::string caps = "CAP_BPF", why = "every token-backed command checks it";
  if ((progs & vocab::net_admin_prog_types()) || (maps & vocab::net_admin_map_types())) {
    caps += ", CAP_NET_ADMIN";
    why += "; CAP_NET_ADMIN for the delegated networking types";
  }
  if (progs & vocab::perfmon_prog_types()) {
    caps += ", CAP_PERFMON";
    why += "; CAP_PERFMON for the delegated tracing types";
  }
  return {caps, why};
}

std::optional<std::string> import_container(ContainerManager manager, const SourceSet& sources, uint32_t first,
                                            Diagnostics& diags, const SystemdImportOptions& options) {
  const Keys& keys = manager == ContainerManager::incus ? kIncus : kLxd;
  const char* tool = manager == ContainerManager::incus ? "incus" : "lxc";
  std::string out;
  bool ok = true;
  for (uint32_t id = first; id < sources.size(); ++id) {
    const SourceFile& f = sources.file(id);
    Span whole{id, 0, 1};
    auto j = nlohmann::json::parse(f.text, nullptr, false);
    const nlohmann::json* config = nullptr;
    size_t from = 0;  // where the configuration read is in the text: its keys are found after it
    if (!j.is_discarded() && j.is_object()) {
      if (auto it = j.find("expanded_config"); it != j.end() && it->is_object()) {
        config = &*it;
        from = f.text.find("\"expanded_config\"");
      } else if (auto c = j.find("config"); c != j.end() && c->is_object()) {
        config = &*c;
        from = f.text.find("\"config\"");
      }
      if (from == std::string::npos) from = 0;
    }
    auto name_it = j.is_object() ? j.find("name") : j.end();
    if (!config || name_it == j.end() || !name_it->is_string() || name_it->get<std::string>().empty()) {
      diags.report(Code::E040, whole, fmt::format("not an instance as `{} query /1.0/instances/NAME` prints it (a JSON object "
                                                  "with `name` and `expanded_config`)",
                                                  tool))
          .hint(fmt::format("{} query /1.0/instances/NAME > NAME.json", tool));
      ok = false;
      continue;
    }
    std::string name = name_it->get<std::string>();
    std::string project = j.value("project", std::string("default"));
    if (j.value("type", std::string("container")) != "container") {
      diags.report(Code::E041, place(id, f.text, "type", true),
                   fmt::format("`{}` is a virtual machine: {} delegates a bpffs to containers only", name, keys.manager))
          .hint("import the containers");
      ok = false;
      continue;
    }
    auto setting = [&](const char* key) -> std::optional<std::string> {
      auto it = config->find(key);
      if (it == config->end()) return std::nullopt;
      if (!it->is_string()) return it->dump();
      return it->get<std::string>();
    };
    std::array<Delegated, 4> d{};
    bool names_ok = true;
    for (EnumKind kind : vocab::kAllKinds) {
      const char* key = keys.kinds[static_cast<size_t>(kind)];
      auto v = setting(key);
      if (!v) continue;
      Delegated& x = d[static_cast<size_t>(kind)];
      x.set = true;
      x.key = place(id, f.text, key, false, from);
      x.value = place(id, f.text, key, true, from);
      x.line = sources.locate(x.key).line;
      names_ok &= parse_list(kind, key, *v, x.value, x, diags);
    }
    if (!names_ok) {
      ok = false;
      continue;
    }
    bool any_set = false, any_delegation = false;
    for (const auto& x : d) any_set |= x.set, any_delegation |= x.mask != 0;
    Span anchor = d[0].set ? d[0].key : whole;
    if (keys.enable) {
      auto on = setting(keys.enable);
      bool enabled = on && (*on == "true" || *on == "1" || *on == "yes" || *on == "on");
      if (!enabled) {
        for (EnumKind kind : vocab::kAllKinds)
          if (const Delegated& x = d[static_cast<size_t>(kind)]; x.set)
            diags.report(Code::W122, x.key,
                         fmt::format("LXD ignores {} without {}=true", keys.kinds[static_cast<size_t>(kind)], keys.enable))
                .hint(fmt::format("set {}=true, or drop the setting", keys.enable));
        diags.report(Code::E041, on ? place(id, f.text, keys.enable, true, from) : whole,
                     fmt::format("`{}` delegates nothing: it has no {}=true", name, keys.enable))
            .hint("import the containers that delegate BPF");
        ok = false;
        continue;
      }
      anchor = place(id, f.text, keys.enable, false, from);
    }
    if (!any_delegation) {
      diags.report(Code::E041, any_set ? anchor : whole,
                   fmt::format("`{}` delegates nothing: no {} names a command or type", name, keys.kinds[0]))
          .hint("its bpffs would carry no delegation, and no token can be made from it");
      ok = false;
      continue;
    }

    // Lints on the delegation itself.
    const Delegated &cmds = d[0], &maps = d[1], &progs = d[2], &attachs = d[3];
    auto key_of = [&](EnumKind k) { return keys.kinds[static_cast<size_t>(k)]; };
    for (EnumKind kind : vocab::kAllKinds)
      if (const Delegated& x = d[static_cast<size_t>(kind)]; x.any)
        diags.report(Code::W120, x.value,
                     fmt::format("{}=any delegates every {}, also those later kernels add", key_of(kind), vocab::kind_noun(kind)))
            .hint("list what the container uses; the imported profile can be no stricter than the delegation");
    if (auto priv = setting("security.privileged"); priv && *priv == "true")
      diags.report(Code::W123, place(id, f.text, "security.privileged", true, from),
                   "a privileged container has no user namespace of its own: its bpffs belongs to the initial one, and "
                   "no token can be created from it (EOPNOTSUPP)")
          .hint("drop security.privileged");
    if (options.kernel && *options.kernel < vocab::kTokenKernel)
      diags.report(Code::W124, anchor,
                   fmt::format("kernel {} has no BPF tokens: {}", options.kernel->str(),
                               manager == ContainerManager::lxd ? "LXD refuses to start the container"
                                                                : "Incus mounts no delegating bpffs"))
          .hint(fmt::format("tokens need Linux {} or later", vocab::kTokenKernel.str()));
    bool map_create = cmds.mask & (1ULL << vocab::cmd::MAP_CREATE);
    bool prog_load = cmds.mask & (1ULL << vocab::cmd::PROG_LOAD);
    if (map_create && !maps.mask)
      diags.report(Code::W125, cmds.value, fmt::format("map_create is delegated without {}: every map creation fails",
                                                       key_of(EnumKind::map)))
          .hint("add the map types the container makes");
    if (maps.mask && !map_create)
      diags.report(Code::W125, maps.key, fmt::format("map types are delegated without map_create in {}", key_of(EnumKind::cmd)))
          .hint("add map_create, or drop the map types");
    if (prog_load && (!progs.mask || !attachs.mask))
      diags.report(Code::W125, cmds.value,
                   fmt::format("prog_load is delegated without {}: every program load fails",
                               key_of(!progs.mask ? EnumKind::prog : EnumKind::attach)))
          .hint("the kernel checks the program type and the expected attach type of every load");
    if ((progs.mask || attachs.mask) && !prog_load)
      diags.report(Code::W125, (progs.mask ? progs : attachs).key,
                   fmt::format("program or attach types are delegated without prog_load in {}", key_of(EnumKind::cmd)))
          .hint("add prog_load, or drop them");
    if (progs.mask && attachs.mask && !(attachs.mask & (1ULL << vocab::attach::CGROUP_INET_INGRESS)))
      diags.report(Code::W121, attachs.value,
                   "cgroup_inet_ingress is not delegated: it is attach type 0, which every program type that has no "
                   "attach type of its own is loaded with (socket filters, kprobes, XDP without one), so those loads fail")
          .hint("add cgroup_inet_ingress; it also lets cgroup_skb ingress programs load when they are delegated");
    if (progs.mask & vocab::perfmon_prog_types() & ~vocab::net_admin_prog_types())
      diags.report(Code::W106, progs.value,
                   fmt::format("the container is delegated {}: with CAP_PERFMON in its namespace such programs read all "
                               "kernel memory, whatever namespace the token lives in",
                               names(EnumKind::prog, progs.mask & vocab::perfmon_prog_types())))
          .hint("the imported profile grants CAP_PERFMON, which they need to load");

    // The profile: LXC names the container's cgroup lxc.payload.NAME, NAME with the project's
    // prefix outside the default project.
    std::string lxc_name = project == "default" ? name : project + "_" + name;
    std::string bpffs = manager == ContainerManager::incus ? setting("security.bpffs.path").value_or("/sys/fs/bpf") : "/sys/fs/bpf";
    if (bpffs.empty()) bpffs = "/sys/fs/bpf";
    out += fmt::format("# {} ({} container `{}`{}): what {} delegates to it at every start.\n", f.path, keys.manager, name,
                       project == "default" ? "" : ", project " + project, keys.manager);
    out += fmt::format("profile {} {{\n", profile_name(manager == ContainerManager::incus ? "incus" : "lxd", lxc_name));
    out += fmt::format("  # its cgroup, and the bpffs {} mounts in it\n", keys.manager);
    out += fmt::format("  match creator.cgroup under {}\n    and token.bpffs == {};\n",
                       nlohmann::json("/lxc.payload." + lxc_name).dump(), nlohmann::json(bpffs).dump());
    out += "  # a token of a bpffs delegating more than this (a container widened since) is refused\n  strict;\n";
    for (EnumKind kind : vocab::kAllKinds) {
      const Delegated& x = d[static_cast<size_t>(kind)];
      if (!x.mask) continue;
      out += fmt::format("  allow {} {};  # {} (line {})\n", vocab::kind_keyword(kind), x.any ? "any" : names(kind, x.mask),
                         key_of(kind), x.line);
    }
    auto [caps, why] = delegated_capabilities(progs.mask, maps.mask);
    out += fmt::format("  allow cap {};  # {}\n", caps, why);
    if (!(progs.mask & vocab::perfmon_prog_types()) && prog_load)
      out += "  # CAP_PERFMON is not granted: the verifier asks for it at every load and refusing it fails nothing\n";
    out += "}\n\n";
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace tw::compiler
