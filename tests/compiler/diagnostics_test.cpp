// The one renderer test: text with the source line and carets, and JSON.
#include <doctest/doctest.h>

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
