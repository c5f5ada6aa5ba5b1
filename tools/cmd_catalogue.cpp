// SPDX-License-Identifier: Apache-2.0
// tokenwarden catalogue [KIND] [--target-kernel V|running]: every name a policy and `delegate`
// accept, in the three spellings, with its value and the first kernel known to have it; the
// token capabilities and the map flags. With `--target-kernel running`, also the names this
// kernel has and the catalogue lacks (usable there, W115).
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "output.h"
#include "policy_cli.h"
#include "vocab/catalogue.h"

namespace tw::tools {
namespace {

struct Args {
  std::string kind;  // "", "cmd", "map", "prog", "attach", "cap", "map_flag"
  PolicyOptions o;
};

int run(const Args& a) {
  begin_document("catalogue", {"target_kernel"});
  auto& doc = document();
  for (const char* k : {"kinds", "capabilities", "map_flags"}) doc[k] = nlohmann::json::array();
  auto target = resolve_target(a.o.target_kernel);
  if (!target) return kExitUsage;
  doc["target_kernel"] = target->label.empty() ? nlohmann::json(nullptr) : nlohmann::json(target->label);
  const bool json = json_output();
  auto wanted = [&](std::string_view k) { return a.kind.empty() || a.kind == k; };

  for (auto kind : vocab::kAllKinds) {
    if (!wanted(vocab::kind_keyword(kind))) continue;
    const auto& builtin = vocab::builtin_table(kind);
    const vocab::EnumTable* there = target->tables ? &(*target->tables)[static_cast<size_t>(kind)] : nullptr;
    nlohmann::json names = nlohmann::json::array();
    if (!json)
      fmt::print("{}s (allow {} NAME; delegate --{}; delegate_{}=):\n", vocab::kind_noun(kind), vocab::kind_keyword(kind),
                 vocab::option_suffix(kind), vocab::option_suffix(kind));
    auto add = [&](const vocab::EnumEntry& e, bool catalogued) {
      std::string lower = vocab::to_lower(e.name);
      auto since = vocab::introduced_in(kind, e.name);
      bool on_target = !catalogued || (there ? there->find(e.name).has_value()
                                             : !target->version || !(*target->version < since));
      std::string full = std::string(vocab::kernel_prefix(kind)) + e.name;
      std::string systemd = vocab::systemd_name(kind, e.name);
      names.push_back({{"name", lower},
                       {"value", e.value},
                       {"enum", full},
                       {"systemd", systemd},
                       {"since", catalogued ? nlohmann::json(since.str()) : nlohmann::json(nullptr)},
                       {"catalogued", catalogued},
                       {"on_target", on_target}});
      if (!json)
        fmt::print("  {:<28} {:>3}  {:<40} {:<36} {}{}\n", lower, e.value, full, systemd,
                   catalogued ? "since " + since.str() : "this kernel only (W115)",
                   on_target ? "" : fmt::format(" (not on {})", target->label));
    };
    for (const auto& e : builtin.entries) add(e, true);
    if (there)
      for (const auto& e : there->entries)
        if (!builtin.find(e.name)) add(e, false);
    doc["kinds"].push_back({{"kind", vocab::kind_keyword(kind)}, {"option", fmt::format("delegate_{}", vocab::option_suffix(kind))},
                            {"names", std::move(names)}});
    if (!json) fmt::print("\n");
  }

  if (wanted("cap")) {
    if (!json) fmt::print("capabilities (allow cap NAME):\n");
    for (const auto& c : vocab::token_capabilities()) {
      doc["capabilities"].push_back({{"name", c.name}, {"value", c.value}});
      if (!json) fmt::print("  {:<28} {:>3}\n", c.name, c.value);
    }
    if (!json) fmt::print("\n");
  }
  if (wanted("map_flag")) {
    if (!json) fmt::print("map flags (forbid map_flags NAME):\n");
    for (const auto& f : vocab::map_flags()) {
      doc["map_flags"].push_back({{"name", vocab::to_lower(f.name)}, {"bit", f.bit}});
      if (!json) fmt::print("  {:<28} {:>3}  BPF_F_{}\n", vocab::to_lower(f.name), f.bit, f.name);
    }
  }
  return kExitOk;
}

}  // namespace

void register_catalogue(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("catalogue", "List the names policies and `delegate` accept, in every spelling");
  cmd->footer(
      "Columns: the kernel's name, its value, the full enum name, systemd's name, the first kernel known to have it.\n"
      "Example:\n  tokenwarden catalogue map\n  tokenwarden catalogue --target-kernel running attach");
  static Args a;
  cmd->add_option("KIND", a.kind, "Only this kind: cmd, map, prog, attach, cap, map_flag")
      ->check(CLI::IsMember({"cmd", "map", "prog", "attach", "cap", "map_flag"}));
  add_target_option(cmd, a.o);
  cmd->callback([&exit_code] { exit_code = run(a); });
}

}  // namespace tw::tools
