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

// "map_create, prog_load" for a mask of one kind (capabilities by name), "none" when empty.
std::string grant_names(GrantKind k, uint64_t mask);
std::string atom_text(const Atom& a);  // "creator.uid in 1000..1999"

}  // namespace tw::compiler
