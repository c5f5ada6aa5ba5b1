// SPDX-License-Identifier: Apache-2.0
// What the policy verbs (check, compile, explain, simulate, test) share: the --target-kernel
// option, compiling a policy or reading an artifact, and printing diagnostics once (text with
// source lines and carets, or JSON).
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "compiler/artifact.h"
#include "compiler/event_log.h"
#include "compiler/ir.h"
#include "compiler/loader.h"
#include "compiler/pipeline.h"

namespace tw::tools {

struct PolicyOptions {
  std::string target_kernel;  // "", "6.12", "running"
};
void add_target_option(CLI::App* cmd, PolicyOptions& o);
// --target-kernel's value as the checker takes it: the builtin catalogue (""), a version's
// subset of it ("6.12"), or this kernel's BTF tables ("running"). nullopt, reported, when wrong.
std::optional<compiler::TargetKernel> resolve_target(const std::string& spec);

// Compiles `path` and reports its diagnostics: text on stderr, or under --json into the
// document's "diagnostics" (and "diagnostics_not_shown"). `root`, when given, is the root file
// as the caller already read it. The compilation has no IR when the target could not be
// resolved.
compiler::Compilation compile_and_report(const std::string& path, const PolicyOptions& o, bool print_summary,
                                         const std::optional<compiler::FileContents>& root = std::nullopt);

// Diagnostics of any input (a policy, a case file, an event): on stderr as text, with source
// lines and carets, or under --json appended to the document's "diagnostics".
void report_diagnostics(const compiler::Diagnostics& diags, const compiler::SourceSet& sources);

// A policy source or a compiled artifact, as IR, with its digest (the artifact's, or for a source
// the one its artifact would have) and every file read (the artifact, or the source and its
// includes). Fails with 1 for policy errors, bad artifacts and unreadable files.
struct LoadedPolicy {
  compiler::Ir ir;
  compiler::Digest digest{};
  std::vector<std::string> files;
};
Outcome<LoadedPolicy> load_ir(const std::string& path, const PolicyOptions& o);

// Every file a verb reads (policies, includes, artifacts, cases) is a regular file of at most this
// many bytes (`--max-file-size`).
size_t& max_file_bytes();
// How many errors (and warnings) a verb shows at most (`--error-limit`; 0: all).
size_t& error_limit();
std::optional<std::string> read_file(const std::string& path, std::string& error);
// Recorded event files (compiler/event_log.h), in the order given, into `sources`; nullopt, with
// E042 in `diags` or an error reported, when one cannot be read.
std::optional<compiler::EventLog> read_event_files(const std::vector<std::string>& paths, compiler::SourceSet& sources,
                                                   compiler::Diagnostics& diags);
bool write_file(const std::string& path, const std::string& data, std::string& error);

}  // namespace tw::tools
