// SPDX-License-Identifier: Apache-2.0
// What the policy verbs (check, compile, explain, simulate, test) share: the --target-kernel
// option, compiling a policy or reading an artifact, and printing diagnostics once (text with
// source lines and carets, or JSON).
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "compiler/ir.h"
#include "compiler/pipeline.h"

namespace tw::tools {

struct PolicyOptions {
  std::string target_kernel;  // "", "6.12", "running"
  bool json = false;
};
void add_target_option(CLI::App* cmd, PolicyOptions& o);

// Compiles `path` and prints its diagnostics (to stderr as text, or collects them for JSON).
// Returns the compilation; `ok` is false when the target could not be resolved.
compiler::Compilation compile_and_report(const std::string& path, const PolicyOptions& o, bool print_summary);

// A policy source or a compiled artifact, as IR. Prints what went wrong and returns nullopt;
// `exit_code` is then set (1 for policy errors, bad artifacts and unreadable files). `sha256`,
// when given, receives the policy's hash: the artifact's checksum, or for a source the checksum
// its artifact would have.
// `files`, when given, receives every file read (the artifact, or the source and its includes).
std::optional<compiler::Ir> load_ir(const std::string& path, const PolicyOptions& o, int& exit_code,
                                    std::string* sha256 = nullptr, std::vector<std::string>* files = nullptr);

// Every file a verb reads (policies, includes, artifacts, cases) is a regular file of at most this
// many bytes (`--max-file-size`).
size_t& max_file_bytes();
// How many errors (and warnings) a verb shows at most (`--error-limit`; 0: all).
size_t& error_limit();
std::optional<std::string> read_file(const std::string& path, std::string& error);
bool write_file(const std::string& path, const std::string& data, std::string& error);

}  // namespace tw::tools
