// SPDX-License-Identifier: Apache-2.0
// Shell completion generated from the CLI's own command table: the verbs and options CLI11 knows,
// and, where an option takes names, the catalogue's names. Nothing is listed twice by hand, so a
// new verb or option reaches bash, zsh and fish with the next build.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace tw::tools {

// What an option's value (or a verb's operand) is, from its CLI11 type name.
enum class ValueKind {
  none,     // a flag
  free,     // a number or text: nothing to offer
  file,     // FILE, and every operand (POLICY, CASES)
  dir,      // DIR
  command,  // COMMAND: a program on $PATH
  words,    // one of `values`: KERNEL, or CLI11's TEXT:{a,b,c}
  list,     // comma-separated names from `values`: CMDS, MAP_TYPES, PROG_TYPES, ATTACH_TYPES
};

struct CompletionOption {
  std::vector<std::string> names;  // "-o", "--output"
  std::string help;
  ValueKind kind = ValueKind::none;
  std::vector<std::string> values;
};

struct CompletionVerb {
  std::string name;  // empty: the binary itself (options before the verb)
  std::string help;
  std::vector<CompletionOption> options;
  ValueKind operand = ValueKind::none;  // what positional arguments are (files unless typed)
  std::vector<std::string> operand_values;
};

// The table: the binary's own options first (name ""), then one entry per verb.
std::vector<CompletionVerb> completion_table(const CLI::App& app);

// The script for `shell` ("bash", "zsh", "fish"); empty for another shell.
std::string completion_script(const CLI::App& app, const std::string& shell);

void register_completion(CLI::App& app, int& exit_code);

}  // namespace tw::tools
