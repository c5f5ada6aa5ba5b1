// SPDX-License-Identifier: Apache-2.0
#include "usage.h"

#include <fmt/core.h>

#include <string>
#include <vector>

#include "commands.h"
#include "output.h"
#include "compiler/diagnostics.h"
#include "vocab/catalogue.h"

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
        if (o && o->get_items_expected_min() > 0 && i + 1 < argc) ++i;
      }
      continue;
    }
    for (const auto& v : verbs)
      if (v == a) return 0;
    std::string message = fmt::format("unknown command `{}`", compiler::escape_text(a));
    if (auto dym = compiler::did_you_mean(vocab::closest_names(a, verbs)); !dym.empty()) message += "; " + dym;
    report_error(message, "`tokenwarden --help` lists the commands");
    return kExitUsage;
  }
  return 0;
}

}  // namespace tw::tools
