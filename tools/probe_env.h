// SPDX-License-Identifier: Apache-2.0
// TOKENWARDEN_PROBE_FORCE="bpf_lsm_active=fail,lsm_prog_load=ok": probe verdicts forced from the
// environment, for tests of doctor and of the verbs that refuse to load where doctor would fail.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kernel/probes.h"

namespace tw::tools {

std::map<std::string, kernel::Verdict> forced_probes_from_env();
// "lsm_prog_load, hook.bpf_token_cmd": the ids of probes (the blockers), for one line.
std::string probe_ids(const std::vector<kernel::ProbeResult>& probes);

}  // namespace tw::tools
