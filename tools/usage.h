// SPDX-License-Identifier: Apache-2.0
// Usage errors CLI11 words poorly: an unknown verb ("A subcommand is required") gets its own
// message, with the verbs it resembles.
#pragma once

#include <CLI/CLI.hpp>

namespace tw::tools {

// 0 when argv's verb is one of `app`'s (or there is none: CLI11 says what is missing); else
// prints "unknown command `x`; did you mean `y`?" and returns kExitUsage.
int unknown_verb(CLI::App& app, int argc, char** argv);

}  // namespace tw::tools
