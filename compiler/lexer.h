// Stage 1: source text -> tokens. Identifiers may contain '.', '-' and '_' (`creator.uid`,
// `ci-runner`); keywords are identifiers the parser recognises by text, so a profile may be
// called `match` without the lexer caring. Comments run from '#' or '//' to the end of the line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.h"
#include "source.h"

namespace tw::compiler {

enum class Tok {
  ident, number, string,
  lbrace, rbrace, lparen, rparen, semi, comma, dotdot,
  eq, ne, lt, le, gt, ge,
  eof,
};
std::string_view tok_name(Tok t);  // "identifier", "`;`", ...

struct Token {
  Tok kind = Tok::eof;
  Span span;
  std::string_view text;  // raw text (identifiers, numbers)
  std::string value;      // strings: unescaped contents
  uint64_t number = 0;
};

// Lexes one file of `sources`; errors (E001, E002, E004) go to `diags` and lexing goes on.
// The result always ends with one Tok::eof.
std::vector<Token> lex(const SourceSet& sources, uint32_t file, Diagnostics& diags);

}  // namespace tw::compiler
