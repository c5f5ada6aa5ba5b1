// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include "compiler/lexer.h"

using namespace tw::compiler;

namespace {
std::vector<Token> lex_text(const std::string& text, Diagnostics& d, SourceSet& s) {
  return lex(s, s.add("t.tw", text), d);
}
}  // namespace

TEST_CASE("lexer: names with dots and dashes, numbers, ranges, strings, operators") {
  SourceSet s;
  Diagnostics d;
  auto t = lex_text("profile ci-job { match creator.uid in 0x10..20 and x != \"a\\\"b\"; } <= >= < > ==", d, s);
  CHECK_FALSE(d.has_errors());
  std::vector<Tok> kinds;
  for (const auto& tok : t) kinds.push_back(tok.kind);
  CHECK(kinds == std::vector<Tok>{Tok::ident, Tok::ident, Tok::lbrace, Tok::ident, Tok::ident, Tok::ident,
                                  Tok::number, Tok::dotdot, Tok::number, Tok::ident, Tok::ident, Tok::ne,
                                  Tok::string, Tok::semi, Tok::rbrace, Tok::le, Tok::ge, Tok::lt, Tok::gt, Tok::eq,
                                  Tok::eof});
  CHECK(t[1].text == "ci-job");
  CHECK(t[4].text == "creator.uid");
  CHECK(t[6].number == 16);
  CHECK(t[8].number == 20);
  CHECK(t[12].value == "a\"b");
}

TEST_CASE("lexer: comments run to the end of the line") {
  SourceSet s;
  Diagnostics d;
  auto t = lex_text("# one\nmode // two\n audit; # three", d, s);
  REQUIRE(t.size() == 4);
  CHECK(s.locate(t[1].span).line == 3);
}

TEST_CASE("lexer: errors carry spans and lexing goes on") {
  SourceSet s;
  Diagnostics d;
  auto t = lex_text("a = b ! c @ \"open\n 0x 18446744073709551616 ok", d, s);
  CHECK(t[1].kind == Tok::eq);  // a lone `=` is reported and read as `==`
  std::vector<std::string> codes;
  for (const auto& x : d.all()) codes.push_back(std::string(code_name(x.code)) + "@" + s.where(x.span).substr(5));
  CHECK(codes == std::vector<std::string>{"E001@1:3", "E001@1:7", "E001@1:11", "E002@1:13", "E001@2:2", "E004@2:5"});
  CHECK(t[t.size() - 2].text == "ok");  // still lexed after the errors
}

TEST_CASE("lexer: a non-ASCII character is one error") {
  SourceSet s;
  Diagnostics d;
  lex_text("mode é;", d, s);
  CHECK(d.error_count() == 1);
}

TEST_CASE("lexer: strings must be UTF-8") {
  SourceSet s;
  Diagnostics d;
  lex_text("\"caf\xc3\xa9\" \"\xff\" \"\xc0\xaf\" \"\xed\xa0\x80\"", d, s);
  std::vector<std::string> at;
  for (const auto& x : d.all()) at.push_back(s.where(x.span));
  CHECK(at == std::vector<std::string>{"t.tw:1:9", "t.tw:1:13", "t.tw:1:18"});
}
