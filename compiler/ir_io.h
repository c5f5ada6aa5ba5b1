// SPDX-License-Identifier: Apache-2.0
// The IR's two renderings: JSON (lossless; the compiled artifact's payload and `--emit json`)
// and a readable text dump (`--emit ir`, golden-tested).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ir.h"

namespace tw::compiler {

nlohmann::json ir_to_json(const Ir& ir);
// nullopt with `error` set when the JSON is not a well-formed IR.
std::optional<Ir> ir_from_json(const nlohmann::json& j, std::string& error);
std::string ir_to_text(const Ir& ir);

// The artifact's payload: line 1 the policy's settings and rule table, then one line per profile
// in order. Written and read a line at a time, so no JSON tree of the whole policy is built.
std::string ir_to_json_lines(const Ir& ir);
// What is wrong with one line of a payload (1-based).
struct IrProblem {
  uint32_t line = 0;
  std::string message;
};
// nullopt, with one problem per malformed line, unless every line is well-formed.
std::optional<Ir> ir_from_json_lines(std::string_view text, std::vector<IrProblem>& problems);

// "map_create, prog_load" for a mask of one kind (capabilities by name), "none" when empty.
std::string grant_names(GrantKind k, uint64_t mask);
std::string atom_text(const Atom& a);  // "creator.uid in 1000..1999"

}  // namespace tw::compiler
