// SPDX-License-Identifier: Apache-2.0
// tokenwarden doctor: every feature probe with a verdict and a hint; exit 0 when this kernel
// can enforce tokenwarden policies, kExitCannotEnforce when it cannot.
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "output.h"
#include "vocab/names.h"
#include "probe_env.h"
#include "kernel/probes.h"

namespace tw::tools {
namespace {

int run() {
  const bool json = json_output();
  begin_document("doctor", {"enforcement_possible", "probes", "blockers"});
  kernel::ProbeEnv env;
  env.forced = forced_probes_from_env();
  kernel::Probes probes(env);
  auto report = probes.report();
  auto blockers = probes.enforcement_blockers();
  bool can_enforce = blockers.empty();

  if (json) {
    auto& j = document();
    j["enforcement_possible"] = can_enforce;
    j["probes"] = nlohmann::json::array();
    auto orNull = [](bool has, auto v) { return has ? nlohmann::json(v) : nlohmann::json(nullptr); };
    for (const auto& r : report) {
      j["probes"].push_back({{"id", r.id},
                             {"title", r.title},
                             {"verdict", kernel::verdict_name(r.verdict)},
                             {"value", r.value},
                             {"number", orNull(r.number.has_value(), r.number.value_or(0))},
                             {"hint", orNull(!r.hint.empty(), r.hint)},
                             {"errno", orNull(r.err != 0, r.err)},
                             {"errno_name", orNull(r.err != 0, vocab::errno_name(r.err))},
                             {"forced", r.forced}});
    }
    j["blockers"] = nlohmann::json::array();
    for (const auto& b : blockers) j["blockers"].push_back(b.id);
    if (!can_enforce)
      report_error(fmt::format("this kernel cannot enforce tokenwarden policies ({})", probe_ids(blockers)),
                   "policies can still be checked, compiled and simulated here; see each blocker's hint");
  } else {
    for (const auto& r : report) {
      fmt::print("[{:>4}] {:<42} {}\n", kernel::verdict_name(r.verdict), r.title, r.value);
      if (!r.hint.empty()) fmt::print("       hint: {}\n", r.hint);
    }
    if (can_enforce) {
      fmt::print("\nenforcement: possible on this kernel\n");
    } else {
      fmt::print("\nenforcement: UNAVAILABLE on this kernel ({})\n", probe_ids(blockers));
      fmt::print("  policies can still be checked, compiled and simulated here; enforcement tests "
                 "run in the test VM (scripts/vm)\n");
    }
  }
  return can_enforce ? kExitOk : kExitCannotEnforce;
}

}  // namespace

void register_doctor(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("doctor", "Probe this kernel and say whether tokenwarden can enforce here");
  cmd->footer(
      "Exit status: 0 enforcement possible, 3 not possible (see the hints).\n"
      "Example:\n  tokenwarden doctor\n  tokenwarden doctor --json | jq '.probes[] | select(.verdict==\"fail\")'");
  cmd->callback([&exit_code] { exit_code = run(); });
}

}  // namespace tw::tools
