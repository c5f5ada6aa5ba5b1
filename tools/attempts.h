// SPDX-License-Identifier: Apache-2.0
// The last `load` or `replace` of a pin root, kept in /run/tokenwarden (TOKENWARDEN_RUN_DIR), so
// that `status` can say that the last attempt failed and that the policy it shows is the one
// still enforcing (`systemctl reload` with a broken policy). Best effort: a failure to record
// never changes a verb's outcome.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tw::tools {

struct Attempt {
  std::string verb;    // load, replace
  std::string policy;  // the path given
  int exit_code = 0;
  uint64_t at_s = 0;   // CLOCK_REALTIME
};

void record_attempt(const std::string& pin_root, const std::string& verb, const std::string& policy, int exit_code);
std::optional<Attempt> last_attempt(const std::string& pin_root);
// "the policy was refused (exit 1)": what an exit code of load or replace means.
std::string attempt_outcome(int exit_code);

}  // namespace tw::tools
