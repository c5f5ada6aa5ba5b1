// SPDX-License-Identifier: Apache-2.0
// The one renderer test: text with the source line and carets, and JSON.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compile_support.h"

using namespace tw::compiler;
using tw::test::compile_text;

TEST_CASE("diagnostics: text rendering with source line, caret, hint and note") {
  auto c = compile_text("profile a { match any; }\nprofile a { match any; }\n");
  REQUIRE(c.diags.all().size() == 1);
  CHECK(render_text(c.diags.all()[0], c.sources) ==
        "p.tw:2:9: error[E013]: profile `a` is declared twice\n"
        "   |\n"
        " 2 | profile a { match any; }\n"
        "   |         ^\n"
        "  = hint: profile names are identities that survive policy replacement: make them unique\n"
        "p.tw:1:9: note: first declared here\n"
        "   |\n"
        " 1 | profile a { match any; }\n"
        "   |         ^\n");
  CHECK(summary(c.diags) == "1 error, 0 warnings");
}

TEST_CASE("diagnostics: JSON rendering") {
  auto c = compile_text("profile a { match any; allow map hsah; }");
  auto j = nlohmann::json::parse(render_json(c.diags.all(), c.sources));
  REQUIRE(j.size() == 1);
  CHECK(j[0]["code"] == "E010");
  CHECK(j[0]["slug"] == "unknown-name");
  CHECK(j[0]["severity"] == "error");
  CHECK(j[0]["file"] == "p.tw");
  CHECK(j[0]["line"] == 1);
  CHECK(j[0]["col"] == 34);
  CHECK(j[0]["end_col"] == 38);
  CHECK(j[0]["hints"][0] == "did you mean `hash`?");
}

TEST_CASE("diagnostics: JSON rendering survives bytes that are not UTF-8") {
  auto c = compile_text("profile a { match creator.ui\xff\xff = 5; }");
  REQUIRE(c.diags.has_errors());
  auto j = nlohmann::json::parse(render_json(c.diags.all(), c.sources));
  CHECK(j.size() >= 1);
}

TEST_CASE("diagnostics: a run of bad bytes is one error, and the output stays small") {
  for (size_t n : {size_t{10}, size_t{10240}, size_t{1} << 20}) {
    auto c = compile_text(std::string(n, '\0'));
    REQUIRE(c.diags.all().size() == 1);
    std::string out = render_text(c.diags.all()[0], c.sources);
    CHECK_MESSAGE(out.size() < 1200, n << " NULs gave " << out.size() << " bytes");
    CHECK(out.find(std::string(1, '\0')) == std::string::npos);
    CHECK(out.find(fmt::format("unexpected byte 0x00 (and {} more byte", n - 1)) != std::string::npos);
  }
}

TEST_CASE("diagnostics: control bytes from the source are shown escaped, never sent raw") {
  auto c = compile_text("policy p;\nprofile a { match any; allow cmd bogus\x1b]0;title\x07; }\n");
  REQUIRE_FALSE(c.diags.all().empty());
  std::string out;
  for (const auto& d : c.diags.all()) out += render_text(d, c.sources);
  CHECK(out.find('\x1b') == std::string::npos);
  CHECK(out.find('\x07') == std::string::npos);
  CHECK(out.find("bogus\\x1b]0;title\\x07;") != std::string::npos);
  // The caret stays under the escaped bytes: `\x1b` is four columns, `]` one.
  CHECK(out.find(" 2 | profile a { match any; allow cmd bogus\\x1b]0;title\\x07; }\n"
                 "   |                                       ^^^^^\n") != std::string::npos);
  CHECK(out.find("   |                                                   ^^^^\n") != std::string::npos);  // \x07
  CHECK(escape_text("a\tb\x9b" "c") == "a\\x09b\\x9bc");
  CHECK(escape_text("caf\xc3\xa9 \xc2\x9b", true) == "caf\xc3\xa9 \\xc2\\x9b");  // é kept; U+009B (CSI) is not
}

TEST_CASE("diagnostics: a long line is a window around the caret") {
  std::string many;
  for (int i = 0; i < 500; ++i) many += "creator.uid == 1 or ";
  auto c = compile_text("policy p; profile a { match " + many + "creator.uid == 2; allow cmd nosuch; }\n");
  REQUIRE(c.diags.all().size() == 1);
  std::string out = render_text(c.diags.all()[0], c.sources);
  CHECK(out.size() < 600);
  CHECK(out.find(" 1 | ...") != std::string::npos);
  size_t shown = out.find("nosuch; }");
  size_t caret = out.find("^^^^^^");
  REQUIRE(shown != std::string::npos);
  REQUIRE(caret != std::string::npos);
  // Same column on both lines.
  CHECK(shown - out.rfind('\n', shown) == caret - out.rfind('\n', caret));
}

TEST_CASE("diagnostics: beyond the limit, diagnostics are counted, not kept") {
  Diagnostics d;
  d.set_limit(3);
  for (int i = 0; i < 10; ++i) d.report(Code::E001, {}, "bad").hint("h");
  d.report(Code::W108, {}, "warn");
  CHECK(d.all().size() == 4);  // 3 errors, 1 warning
  CHECK(d.error_count() == 10);
  CHECK(d.warning_count() == 1);
  CHECK(d.not_kept() == 7);
  CHECK(not_shown(d) == "7 more errors not shown (--error-limit)");
  CHECK(summary(d) == "10 errors, 1 warning");
}
