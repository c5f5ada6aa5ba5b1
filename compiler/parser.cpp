// SPDX-License-Identifier: Apache-2.0
#include "parser.h"

#include <fmt/format.h>

#include <map>

#include "vocab/catalogue.h"

namespace tw::compiler {

const std::vector<std::string>& statement_keywords() {
  static const std::vector<std::string> words = {
      "include", "policy", "default", "preexisting", "mode",  "errno",  "profile", "grants",
      "match",   "use",    "allow",   "limit",       "forbid", "refuse", "strict", "reserve"};
  return words;
}

namespace {

// Thrown to unwind one statement after a syntax error has been reported; parse() catches it and
// resynchronises. Never escapes parse().
struct SyntaxError {};

constexpr size_t kMaxDepth = 64;  // nesting of blocks and parentheses

class Parser {
 public:
  Parser(Lexer& lexer, Diagnostics& diags) : lexer_(lexer), diags_(diags), cur_(lexer.next()) {}

  std::vector<Stmt> file() {
    std::vector<Stmt> out;
    while (!at(Tok::eof)) {
      if (at(Tok::rbrace)) {
        report_here("a statement", "this `}` closes nothing");
        advance();
        continue;
      }
      statement_into(out);
    }
    return out;
  }

 private:
  const Token& cur() const { return cur_; }
  bool at(Tok k) const { return cur().kind == k; }
  bool at_word(std::string_view w) const { return at(Tok::ident) && vocab::to_lower(cur().text) == w; }
  // Consumes the current token; the reference stays valid until the next advance().
  const Token& advance() {
    prev_ = std::move(cur_);
    cur_ = lexer_.next();
    ++consumed_;
    return prev_;
  }

  // Reports a syntax error at the current token and unwinds the statement being parsed.
  [[noreturn]] void error_here(std::string_view expected, const std::string& hint = {}) {
    report_here(expected, hint);
    throw SyntaxError{};
  }

  static std::string found_name(const Token& t) {
    return t.kind == Tok::ident || t.kind == Tok::number ? fmt::format("`{}`", t.text)
           : t.kind == Tok::string                      ? fmt::format("string {}", t.text)
                                                        : std::string(tok_name(t.kind));
  }

  void report_here(std::string_view expected, const std::string& hint) {
    const Token& t = cur();
    auto& d = diags_.report(Code::E003, t.span, fmt::format("expected {}, found {}", expected, found_name(t)));
    if (!hint.empty()) d.hint(hint);
  }

  const Token& expect(Tok k, std::string_view what = {}) {
    if (!at(k) && k == Tok::semi && prev_.span.end > 0) {
      // Where the `;` is missing: right after the previous token (often on the line before the
      // token that revealed it), with the fix.
      Span after{prev_.span.file, prev_.span.end, prev_.span.end};
      diags_.report(Code::E003, after, fmt::format("expected `;` after {}", found_name(prev_)))
          .hint(fmt::format("insert `;` here: every statement ends with one (the next token is {})", found_name(cur())));
      throw SyntaxError{};
    }
    if (!at(k)) error_here(what.empty() ? tok_name(k) : what);
    return advance();
  }

  Name name(std::string_view what) {
    if (!at(Tok::ident)) error_here(what);
    const Token& t = advance();
    return {std::string(t.text), t.span};
  }

  Number number(std::string_view what) {
    if (!at(Tok::number)) error_here(what);
    const Token& t = advance();
    return {t.number, t.span};
  }

  // Skips to just after the next `;` at this nesting level, or to a `}` that closes the
  // enclosing block (left for the caller), whichever comes first.
  void recover() {
    int depth = 0;
    while (!at(Tok::eof)) {
      if (at(Tok::lbrace)) ++depth;
      if (at(Tok::rbrace)) {
        if (depth == 0) return;
        if (--depth == 0) {
          advance();
          return;
        }
      }
      if (at(Tok::semi) && depth == 0) {
        advance();
        return;
      }
      advance();
    }
  }

  void statement_into(std::vector<Stmt>& out) {
    size_t start = consumed_;
    try {
      out.push_back(statement());
    } catch (const SyntaxError&) {
      if (consumed_ == start && !at(Tok::eof)) advance();  // always make progress
      recover();
    }
  }

  Stmt statement() {
    if (!at(Tok::ident)) error_here("a statement (`profile`, `allow`, `match`, ...)");
    Stmt s;
    s.keyword = name("a statement");
    std::string kw = vocab::to_lower(s.keyword.text);
    static const std::map<std::string, Stmt::Kind> kinds = {
        {"include", Stmt::Kind::include}, {"policy", Stmt::Kind::policy},
        {"default", Stmt::Kind::default_}, {"preexisting", Stmt::Kind::preexisting},
        {"mode", Stmt::Kind::mode},       {"errno", Stmt::Kind::errno_},
        {"profile", Stmt::Kind::profile}, {"grants", Stmt::Kind::grants},
        {"match", Stmt::Kind::match},     {"use", Stmt::Kind::use},
        {"allow", Stmt::Kind::allow},     {"limit", Stmt::Kind::limit},
        {"forbid", Stmt::Kind::forbid},   {"refuse", Stmt::Kind::refuse},
        {"strict", Stmt::Kind::strict},   {"reserve", Stmt::Kind::reserve}};
    auto it = kinds.find(kw);
    if (it == kinds.end()) {
      auto& d = diags_.report(Code::E003, s.keyword.span,
                              fmt::format("expected a statement (`profile`, `allow`, `match`, ...), found `{}`", s.keyword.text));
      if (auto dym = did_you_mean(vocab::closest_names(kw, statement_keywords())); !dym.empty()) d.hint(dym);
      throw SyntaxError{};
    }
    s.kind = it->second;
    switch (s.kind) {
      case Stmt::Kind::include: {
        if (!at(Tok::string)) error_here("a file name in quotes", "include \"common.tw\";");
        const Token& t = advance();
        s.path = StringLit{t.value, t.span};
        break;
      }
      case Stmt::Kind::policy:
      case Stmt::Kind::default_:
      case Stmt::Kind::mode:
      case Stmt::Kind::errno_:
        s.target = name("a value");
        break;
      case Stmt::Kind::preexisting:
        s.target = name("`allow`, `deny` or `profile NAME`");
        if (vocab::to_lower(s.target.text) == "profile") s.names.push_back(name("a profile name"));
        break;
      case Stmt::Kind::profile:
      case Stmt::Kind::grants:
        return block(std::move(s));
      case Stmt::Kind::match:
        s.match = std::make_unique<Expr>(expr(0));
        break;
      case Stmt::Kind::use:
        s.names = name_list("the name of a `grants` block");
        break;
      case Stmt::Kind::allow:
        s.target = name("what to allow: `cmd`, `map`, `prog`, `attach`, `cap` or `probes`");
        if (!(vocab::to_lower(s.target.text) == "probes" && at(Tok::semi)))
          s.names = name_list(fmt::format("a {} name", s.target.text));
        break;
      case Stmt::Kind::limit:
        s.target = name("a limit: `max_entries`, `key_size`, `value_size`, `insns`, `maps`, `progs` or `tokens`");
        s.number = number("a number");
        if (at_word("per")) {
          advance();
          s.per = name("what the limit counts by: `token`, `profile`, `uid` or `userns`");
        }
        if (at_word("for")) {
          advance();
          s.for_kind = name("`map`, then the map types the limit applies to");
          s.names = name_list("a map type name");
        }
        break;
      case Stmt::Kind::reserve:
        s.target = name("what to reserve: `tokens`");
        s.number = number("a number");
        break;
      case Stmt::Kind::forbid:
        s.target = name("`sleepable` or `map_flags`");
        if (!at(Tok::semi)) s.names = name_list("a map flag name");
        break;
      case Stmt::Kind::refuse:
      case Stmt::Kind::strict:
        break;
    }
    s.span = join(s.keyword.span, expect(Tok::semi).span);
    return s;
  }

  std::vector<Name> name_list(std::string_view what) {
    std::vector<Name> out{name(what)};
    while (at(Tok::comma)) {
      advance();
      out.push_back(name(what));
    }
    return out;
  }

  Stmt block(Stmt s) {
    s.target = name(fmt::format("a name for the {}", s.keyword.text));
    expect(Tok::lbrace, "`{`");
    if (++depth_ > kMaxDepth) error_here("less nesting");
    while (!at(Tok::rbrace) && !at(Tok::eof)) statement_into(s.body);
    --depth_;
    s.span = join(s.keyword.span, expect(Tok::rbrace, "`}` to close the block").span);
    return s;
  }

  // expr := and ('or' and)* ; and := unary ('and' unary)* ; unary := 'not' unary | '(' expr ')'
  //       | 'any' | predicate
  Expr expr(size_t depth) {
    if (depth > kMaxDepth) error_here("a simpler match clause", "nesting is limited to 64 levels");
    Expr first = conjunction(depth);
    if (!at_word("or")) return first;
    Expr e;
    e.kind = Expr::Kind::any_of;
    e.children.push_back(std::move(first));
    while (at_word("or")) {
      advance();
      e.children.push_back(conjunction(depth));
    }
    e.span = join(e.children.front().span, e.children.back().span);
    return e;
  }

  Expr conjunction(size_t depth) {
    Expr first = unary(depth);
    if (!at_word("and")) return first;
    Expr e;
    e.kind = Expr::Kind::all_of;
    e.children.push_back(std::move(first));
    while (at_word("and")) {
      advance();
      e.children.push_back(unary(depth));
    }
    e.span = join(e.children.front().span, e.children.back().span);
    return e;
  }

  Expr unary(size_t depth) {
    if (depth > kMaxDepth) error_here("a simpler match clause", "nesting is limited to 64 levels");
    Expr e;
    if (at_word("not")) {
      Span s = advance().span;
      e.kind = Expr::Kind::negation;
      e.children.push_back(unary(depth + 1));
      e.span = join(s, e.children.back().span);
      return e;
    }
    if (at(Tok::lparen)) {
      Span s = advance().span;
      e = expr(depth + 1);
      Span close = expect(Tok::rparen, "`)`").span;
      e.span = join(s, close);
      return e;
    }
    if (at_word("any")) {
      e.kind = Expr::Kind::any;
      e.span = advance().span;
      return e;
    }
    e.kind = Expr::Kind::predicate;
    e.pred = predicate();
    e.span = e.pred.attr.span;
    if (!e.pred.names.empty()) e.span = join(e.span, e.pred.names.back().span);
    if (!e.pred.ranges.empty()) e.span = join(e.span, e.pred.ranges.back().second.span);
    if (!e.pred.strings.empty()) e.span = join(e.span, e.pred.strings.back().span);
    return e;
  }

  Predicate predicate() {
    Predicate p;
    p.attr = name("a predicate such as `creator.uid == 1000` or `token delegates prog xdp`");
    if (vocab::to_lower(p.attr.text) == "token" && at_word("delegates")) {
      p.op = name("`delegates`");
      if (at_word("any") || at_word("all")) p.quantifier = name("`any` or `all`");
      p.kind = name("`cmd`, `map`, `prog` or `attach`");
      p.names = name_list("a name");
      return p;
    }
    const Token& op = cur();
    switch (op.kind) {
      case Tok::eq: case Tok::ne: case Tok::lt: case Tok::le: case Tok::gt: case Tok::ge:
        p.op = {std::string(op.text), op.span};
        advance();
        value_into(p);
        return p;
      case Tok::ident:
        if (at_word("in") || at_word("under")) {
          p.op = name("an operator");
          value_into(p);
          while (at(Tok::comma)) {
            advance();
            value_into(p);
          }
          return p;
        }
        [[fallthrough]];
      default:
        error_here("an operator (`==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `under`)");
    }
  }

  // One value: a number or range, a string, or a bare name (SELinux types).
  void value_into(Predicate& p) {
    if (at(Tok::number)) {
      Number lo = number("a number");
      Number hi = lo;
      if (at(Tok::dotdot)) {
        advance();
        hi = number("the end of the range");
      }
      p.ranges.emplace_back(lo, hi);
    } else if (at(Tok::string)) {
      const Token& t = advance();
      p.strings.push_back({t.value, t.span});
    } else if (at(Tok::ident)) {
      const Token& t = advance();
      p.strings.push_back({std::string(t.text), t.span});
    } else {
      error_here("a value (a number, a range `lo..hi`, or a string)");
    }
  }

  Lexer& lexer_;
  Diagnostics& diags_;
  Token cur_, prev_;
  size_t consumed_ = 0;
  size_t depth_ = 0;
};

}  // namespace

std::vector<Stmt> parse(const SourceSet& sources, uint32_t file, Diagnostics& diags) {
  Lexer lexer(sources, file, diags);
  return Parser(lexer, diags).file();
}

}  // namespace tw::compiler
