// SPDX-License-Identifier: Apache-2.0
// Stage 1: source text -> tokens. Identifiers may contain '.', '-' and '_' (`creator.uid`,
// `ci-runner`); keywords are identifiers the parser recognises by text, so a profile may be
// called `match` without the lexer caring. Comments run from '#' or '//' to the end of the line.
#pragma once

#include <cstdint>
#include <optional>
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

// Lexes one file of `sources` token by token (the parser pulls; no token list is kept, so memory
// does not grow with the file). Errors (E001, E002, E004) go to `diags` and lexing goes on.
class Lexer {
 public:
  Lexer(const SourceSet& sources, uint32_t file, Diagnostics& diags);
  Token next();  // Tok::eof at the end, again and again

 private:
  void skip_space_and_comments();
  std::optional<Token> scan();
  std::optional<Token> invalid(size_t begin, const std::string& what, const std::string& hint);
  std::optional<Token> number(size_t begin);
  std::optional<Token> string(size_t begin);
  Span span_from(size_t begin) const;
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

  uint32_t file_;
  std::string_view text_;
  Diagnostics& diags_;
  size_t pos_ = 0;
};

// Every token of a file, ending with one Tok::eof (for tests and tools; the parser streams).
std::vector<Token> lex(const SourceSet& sources, uint32_t file, Diagnostics& diags);

}  // namespace tw::compiler
