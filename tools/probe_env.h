// SPDX-License-Identifier: Apache-2.0
// TOKENWARDEN_PROBE_FORCE="bpf_lsm_active=fail,lsm_prog_load=ok": probe verdicts forced from the
// environment, for tests of doctor and of the verbs that refuse to load where doctor would fail.
#pragma once

#include <map>
#include <string>

#include "kernel/probes.h"

namespace tw::tools {

std::map<std::string, kernel::Verdict> forced_probes_from_env();

}  // namespace tw::tools
