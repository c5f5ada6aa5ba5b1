// SPDX-License-Identifier: Apache-2.0
// tokenwarden doctor: every feature probe with a verdict and a hint; exit 0 when this kernel
// can enforce tokenwarden policies, kExitCannotEnforce when it cannot.
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "probe_env.h"
#include "kernel/probes.h"

namespace tw::tools {
namespace {

int run(bool json) {
  kernel::ProbeEnv env;
  env.forced = forced_probes_from_env();
  kernel::Probes probes(env);
  auto report = probes.report();
  auto blockers = probes.enforcement_blockers();
  bool can_enforce = blockers.empty();

  if (json) {
    nlohmann::json j;
    j["enforcement_possible"] = can_enforce;
    for (const auto& r : report) {
      nlohmann::json p = {{"id", r.id}, {"title", r.title},
                          {"verdict", kernel::verdict_name(r.verdict)}, {"value", r.value}};
      if (!r.hint.empty()) p["hint"] = r.hint;
      if (r.err) p["errno"] = r.err;
      if (r.forced) p["forced"] = true;
      j["probes"].push_back(p);
    }
    for (const auto& b : blockers) j["blockers"].push_back(b.id);
    if (!j.contains("blockers")) j["blockers"] = nlohmann::json::array();
    fmt::print("{}\n", j.dump(2));
  } else {
    for (const auto& r : report) {
      fmt::print("[{:>4}] {:<42} {}\n", kernel::verdict_name(r.verdict), r.title, r.value);
      if (!r.hint.empty()) fmt::print("       hint: {}\n", r.hint);
    }
    if (can_enforce) {
      fmt::print("\nenforcement: possible on this kernel\n");
    } else {
      fmt::print("\nenforcement: UNAVAILABLE on this kernel ({})\n", [&] {
        std::string s;
        for (const auto& b : blockers) s += (s.empty() ? "" : ", ") + b.id;
        return s;
      }());
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
  static bool json = false;
  cmd->add_flag("--json", json, "Machine-readable output");
  cmd->callback([&exit_code] { exit_code = run(json); });
}

}  // namespace tw::tools
