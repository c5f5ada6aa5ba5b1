// SPDX-License-Identifier: Apache-2.0
#include "lexer.h"

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <optional>

namespace tw::compiler {

std::string_view tok_name(Tok t) {
  switch (t) {
    case Tok::ident: return "a name";
    case Tok::number: return "a number";
    case Tok::string: return "a string";
    case Tok::lbrace: return "`{`";
    case Tok::rbrace: return "`}`";
    case Tok::lparen: return "`(`";
    case Tok::rparen: return "`)`";
    case Tok::semi: return "`;`";
    case Tok::comma: return "`,`";
    case Tok::dotdot: return "`..`";
    case Tok::eq: return "`==`";
    case Tok::ne: return "`!=`";
    case Tok::lt: return "`<`";
    case Tok::le: return "`<=`";
    case Tok::gt: return "`>`";
    case Tok::ge: return "`>=`";
    case Tok::eof: return "the end of the file";
  }
  return "?";
}

namespace {

bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool ident_char(char c) { return ident_start(c) || digit(c) || c == '-' || c == '.'; }

// Policies are UTF-8: strings end up in artifacts and JSON, which must be valid text.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

// What a token, a space or a comment may start with: a run of anything else is one error.
bool may_start_token(char c) {
  return ident_start(c) || digit(c) || (c != '\0' && std::strchr("\"{}();,.=!<>#/ \t\r\n", c) != nullptr);
}

}  // namespace

Lexer::Lexer(const SourceSet& sources, uint32_t file, Diagnostics& diags)
    : file_(file), text_(sources.file(file).text), diags_(diags) {}

Token Lexer::next() {
  while (true) {
    skip_space_and_comments();
    if (pos_ >= text_.size()) {
      Token eof;
      eof.kind = Tok::eof;
      eof.span = {file_, static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(text_.size())};
      return eof;
    }
    if (auto t = scan()) return std::move(*t);
  }
}

Span Lexer::span_from(size_t begin) const {
  return {file_, static_cast<uint32_t>(begin), static_cast<uint32_t>(pos_)};
}

void Lexer::skip_space_and_comments() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++pos_;
    } else if (c == '#' || (c == '/' && peek(1) == '/')) {
      while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
    } else {
      break;
    }
  }
}

std::optional<Token> Lexer::scan() {
  size_t begin = pos_;
  char c = text_[pos_];
  Token t;
  if (ident_start(c)) {
    while (pos_ < text_.size() && ident_char(text_[pos_])) {
      // `a..b` never occurs after a name, but keep `x..` out of identifiers anyway.
      if (text_[pos_] == '.' && peek(1) == '.') break;
      ++pos_;
    }
    t.kind = Tok::ident;
  } else if (digit(c)) {
    return number(begin);
  } else if (c == '"') {
    return string(begin);
  } else {
    ++pos_;
    switch (c) {
      case '{': t.kind = Tok::lbrace; break;
      case '}': t.kind = Tok::rbrace; break;
      case '(': t.kind = Tok::lparen; break;
      case ')': t.kind = Tok::rparen; break;
      case ';': t.kind = Tok::semi; break;
      case ',': t.kind = Tok::comma; break;
      case '.':
        if (peek() != '.') return invalid(begin, "a single `.`", "ranges are written `1000..1999`");
        ++pos_;
        t.kind = Tok::dotdot;
        break;
      case '=':
        // A lone `=` is reported, then read as `==` so that the parser does not cascade.
        if (peek() != '=') invalid(begin, "`=`", "comparisons are written `==`");
        else ++pos_;
        t.kind = Tok::eq;
        break;
      case '!':
        if (peek() != '=') return invalid(begin, "`!`", "negation is written `not`, inequality `!=`");
        ++pos_;
        t.kind = Tok::ne;
        break;
      case '<':
        t.kind = Tok::lt;
        if (peek() == '=') ++pos_, t.kind = Tok::le;
        break;
      case '>':
        t.kind = Tok::gt;
        if (peek() == '=') ++pos_, t.kind = Tok::ge;
        break;
      default: {
        // Skip a whole UTF-8 sequence so one stray character gives one error, and a whole run of
        // them (up to something a token may start with), so that N bad bytes give one error,
        // not N.
        while (pos_ < text_.size() && (static_cast<unsigned char>(text_[pos_]) & 0xC0) == 0x80) ++pos_;
        size_t first_end = pos_;
        while (pos_ < text_.size() && !may_start_token(text_[pos_])) ++pos_;
        std::string shown = (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                                ? fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c))
                                : fmt::format("`{}`", text_.substr(begin, first_end - begin));
        if (pos_ > first_end)
          shown += fmt::format(" (and {} more byte{} that no token starts with)", pos_ - first_end, pos_ - first_end == 1 ? "" : "s");
        return invalid(begin, shown, {});
      }
    }
  }
  t.span = span_from(begin);
  t.text = text_.substr(begin, pos_ - begin);
  return t;
}

std::optional<Token> Lexer::invalid(size_t begin, const std::string& what, const std::string& hint) {
  auto& d = diags_.report(Code::E001, span_from(begin), fmt::format("unexpected {}", what));
  if (!hint.empty()) d.hint(hint);
  return std::nullopt;
}

std::optional<Token> Lexer::number(size_t begin) {
  int base = 10;
  if (text_[pos_] == '0' && (peek(1) == 'x' || peek(1) == 'X')) {
    base = 16;
    pos_ += 2;
  }
  size_t digits_begin = pos_;
  while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) ++pos_;
  std::string_view digits = text_.substr(digits_begin, pos_ - digits_begin);
  Token t;
  t.kind = Tok::number;
  t.span = span_from(begin);
  t.text = text_.substr(begin, pos_ - begin);
  bool ok = !digits.empty();
  bool overflow = false;
  uint64_t v = 0;
  for (char ch : digits) {
    int d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (base == 16 && ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (base == 16 && ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else { ok = false; break; }
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) overflow = true;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (!ok) {
    diags_.report(Code::E001, t.span, fmt::format("`{}` is not a number", t.text))
        .hint("numbers are decimal (`4096`) or hexadecimal (`0x1000`)");
  } else if (overflow) {
    diags_.report(Code::E004, t.span, fmt::format("`{}` does not fit in 64 bits", t.text));
  }
  t.number = ok && !overflow ? v : 0;
  return t;
}

std::optional<Token> Lexer::string(size_t begin) {
  ++pos_;  // opening quote
  std::string value;
  while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\n') {
    char ch = text_[pos_++];
    if (ch == '\\' && pos_ < text_.size() && text_[pos_] != '\n') {
      char e = text_[pos_++];
      value += e == 'n' ? '\n' : e == 't' ? '\t' : e;
    } else {
      value += ch;
    }
  }
  if (pos_ >= text_.size() || text_[pos_] != '"') {
    diags_.report(Code::E002, span_from(begin), "string is not closed before the end of the line")
        .hint("add the closing `\"`");
    return std::nullopt;
  }
  ++pos_;
  if (!valid_utf8(value)) {
    diags_.report(Code::E001, span_from(begin), "string is not valid UTF-8")
        .hint("policy files are UTF-8 text");
    return std::nullopt;
  }
  Token t;
  t.kind = Tok::string;
  t.span = span_from(begin);
  t.text = text_.substr(begin, pos_ - begin);
  t.value = std::move(value);
  return t;
}




std::vector<Token> lex(const SourceSet& sources, uint32_t file, Diagnostics& diags) {
  Lexer lexer(sources, file, diags);
  std::vector<Token> out;
  do out.push_back(lexer.next());
  while (out.back().kind != Tok::eof);
  return out;
}

}  // namespace tw::compiler
