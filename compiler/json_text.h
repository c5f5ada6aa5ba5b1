// SPDX-License-Identifier: Apache-2.0
// JSON as text, for every document tokenwarden writes (artifacts, diagnostics, the verbs' --json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tw {

// json::dump that never throws: invalid UTF-8 (a file name, a value typed on the command line)
// is replaced by U+FFFD instead of aborting the output.
inline std::string dump_json(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tw
