// SPDX-License-Identifier: Apache-2.0
#include "probe_env.h"

#include <cstdlib>
#include <sstream>

namespace tw::tools {

std::map<std::string, kernel::Verdict> forced_probes_from_env() {
  std::map<std::string, kernel::Verdict> out;
  const char* env = std::getenv("TOKENWARDEN_PROBE_FORCE");
  if (!env) return out;
  std::stringstream ss(env);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) continue;
    if (auto v = kernel::verdict_from_name(item.substr(eq + 1))) out[item.substr(0, eq)] = *v;
  }
  return out;
}

std::string probe_ids(const std::vector<kernel::ProbeResult>& probes) {
  std::string ids;
  for (const auto& p : probes) ids += (ids.empty() ? "" : ", ") + p.id;
  return ids;
}

}  // namespace tw::tools
