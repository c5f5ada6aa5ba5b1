// SPDX-License-Identifier: Apache-2.0
// Stage 2: tokens -> statements (ast.h), pulling tokens from the lexer as it goes. Hand-written recursive descent. A syntax error (E003)
// is reported with what was expected, and parsing resumes after the next `;` or `}`, so one run
// reports every broken statement of a file.
#pragma once

#include <vector>

#include "ast.h"
#include "diagnostics.h"
#include "lexer.h"

namespace tw::compiler {

std::vector<Stmt> parse(const SourceSet& sources, uint32_t file, Diagnostics& diags);

// The statement keywords, for "did you mean" and the language reference.
const std::vector<std::string>& statement_keywords();

}  // namespace tw::compiler
