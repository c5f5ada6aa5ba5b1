// Stage 1+2 driver: reads the root policy file, lexes and parses it, and replaces each top-level
// `include "file";` by the statements of that file (resolved relative to the including file),
// depth first. A file is read once however often it is included; a cycle is an error (E016).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "source.h"

namespace tw::compiler {

// Returns a file's contents, or nullopt with `error` set ("No such file or directory").
using FileReader = std::function<std::optional<std::string>(const std::string& path, std::string& error)>;
FileReader filesystem_reader();

// All statements of `path` and what it includes, in textual order.
std::vector<Stmt> load_policy(const std::string& path, SourceSet& sources, Diagnostics& diags,
                              const FileReader& read = filesystem_reader());

}  // namespace tw::compiler
