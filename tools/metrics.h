// SPDX-License-Identifier: Apache-2.0
// The counters `status` shows, in Prometheus's text exposition format (0.0.4: what node_exporter's
// textfile collector reads; OpenMetrics parsers read it too), for `status --metrics` and the agent.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "kernel/enforcer.h"

namespace tw::tools {

std::string openmetrics(const kernel::EnforcerStatus& st, const std::map<uint64_t, std::string>& names);
// What a label value must escape: backslash, double quote, newline.
std::string label_escape(const std::string& v);

}  // namespace tw::tools
