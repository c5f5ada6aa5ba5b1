// SPDX-License-Identifier: Apache-2.0
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

// What a reader returns: the text, and what the file is. Two paths with one identity are one file
// (a symlinked directory, `a/../a`), read once and caught in cycles. Readers with no file system
// behind them leave it empty and the path stands for the file.
struct FileContents {
  FileContents(std::string t, std::string id = {}) : text(std::move(t)), identity(std::move(id)) {}  // NOLINT
  std::string text;
  std::string identity;  // "dev:ino"
};

// Returns a file's contents, or nullopt with `error` set ("No such file or directory").
using FileReader = std::function<std::optional<FileContents>(const std::string& path, std::string& error)>;

inline constexpr size_t kDefaultMaxFileBytes = 64u << 20;
// Reads regular files only (a FIFO, a device or a directory is an error, never a hang or an
// endless read), of at most `max_bytes` each.
FileReader filesystem_reader(size_t max_bytes = kDefaultMaxFileBytes);

// All statements of `path` and what it includes, in textual order.
std::vector<Stmt> load_policy(const std::string& path, SourceSet& sources, Diagnostics& diags,
                              const FileReader& read = filesystem_reader());

}  // namespace tw::compiler
