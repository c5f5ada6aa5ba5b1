// SPDX-License-Identifier: Apache-2.0
#include "usage.h"

#include <fmt/core.h>

#include <string>
#include <vector>

#include "commands.h"
#include "compiler/diagnostics.h"
#include "kernel/catalogue.h"

namespace tw::tools {

int unknown_verb(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> verbs;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) verbs.push_back(sub->get_name());
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") return 0;
    if (a.rfind("-", 0) == 0) {
      // A global option that takes a value as the next word.
      if (a.find('=') == std::string::npos) {
        const CLI::Option* o = app.get_option_no_throw(a);
        if (o && o->get_type_size() != 0 && i + 1 < argc) ++i;
      }
      continue;
    }
    for (const auto& v : verbs)
      if (v == a) return 0;
    std::string shown = compiler::escape_text(a);
    fmt::print(stderr, "tokenwarden: error: unknown command `{}`", shown);
    if (auto dym = compiler::did_you_mean(kernel::closest_names(a, verbs)); !dym.empty())
      fmt::print(stderr, "; {}", dym);
    fmt::print(stderr, "\n  hint: `tokenwarden --help` lists the commands\n");
    return kExitUsage;
  }
  return 0;
}

}  // namespace tw::tools
