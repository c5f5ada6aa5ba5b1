// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <sstream>

#include "compile_support.h"
#include "compiler/artifact.h"
#include "compiler/ir_io.h"

using namespace tw::compiler;
using tw::test::compile_text;

namespace {
const char* kPolicy =
    "default allow; preexisting profile p; mode audit; errno EACCES;\n"
    "profile p { match (creator.uid in 1..5 or creator.comm != \"x\") and token delegates any map hash, array\n"
    "  and creator.cgroup under \"/a\"; strict; allow cmd map_create; allow map hash; allow cap CAP_BPF;\n"
    "  limit maps 3; forbid map_flags mmapable; forbid sleepable; mode enforce; }\n"
    "profile q { match creator.exe == \"/bin/q\"; refuse; }\n";
}

TEST_CASE("artifact: the IR survives JSON unchanged") {
  auto c = compile_text(kPolicy);
  REQUIRE(c.ir);
  std::string error;
  auto back = ir_from_json(ir_to_json(*c.ir), error);
  REQUIRE_MESSAGE(back, error);
  CHECK(ir_to_json(*back) == ir_to_json(*c.ir));
  CHECK(ir_to_text(*back) == ir_to_text(*c.ir));
}

TEST_CASE("artifact: written, read, verified") {
  auto c = compile_text(kPolicy);
  REQUIRE(c.ir);
  std::string text = write_artifact(*c.ir, "tokenwarden test");
  CHECK(looks_like_artifact(text));
  CHECK_FALSE(looks_like_artifact("profile a { match any; }"));
  std::string error;
  auto a = read_artifact(text, error);
  REQUIRE_MESSAGE(a, error);
  CHECK(a->compiler == "tokenwarden test");
  CHECK(hex(a->digest).size() == 64);
  CHECK(a->digest == policy_digest(a->ir));
  CHECK(ir_to_text(a->ir) == ir_to_text(*c.ir));
  // The same policy compiles to the same bytes.
  CHECK(write_artifact(*compile_text(kPolicy).ir, "tokenwarden test") == text);
}

namespace {
// Rebuilds an artifact from a header and payload lines, with a correct checksum and size.
std::string reseal(nlohmann::json header, const std::string& payload) {
  header["payload_bytes"] = payload.size();
  header["sha256"] = sha256_hex(payload);
  return header.dump() + "\n" + payload;
}
}  // namespace

TEST_CASE("artifact: one line per profile after the policy line") {
  auto c = compile_text(kPolicy);
  REQUIRE(c.ir);
  std::string text = write_artifact(*c.ir, "t");
  CHECK(std::count(text.begin(), text.end(), '\n') == 1 + 1 + 2);
}

TEST_CASE("artifact: damage, other formats and versions are refused with a reason") {
  auto c = compile_text(kPolicy);
  REQUIRE(c.ir);
  std::string text = write_artifact(*c.ir, "t");
  size_t nl = text.find('\n');
  auto header = nlohmann::json::parse(text.substr(0, nl));
  std::string payload = text.substr(nl + 1);
  std::string error;

  std::string tampered = text;
  tampered.replace(tampered.find("\"maps\":[3,"), 10, "\"maps\":[9,");
  CHECK_FALSE(read_artifact(tampered, error));
  CHECK(error.find("checksum mismatch") != std::string::npos);

  CHECK_FALSE(read_artifact(text.substr(0, text.size() - 5), error));
  CHECK(error.find("truncated") != std::string::npos);

  auto newer = header;
  newer["version"] = 2;
  CHECK_FALSE(read_artifact(reseal(newer, payload), error));
  CHECK(error.find("newer tokenwarden") != std::string::npos);

  CHECK_FALSE(read_artifact("{\"format\": \"something-else\"}\n", error));
  CHECK(error.find("not a tokenwarden artifact") != std::string::npos);
  CHECK_FALSE(read_artifact("profile a { match any; }", error));
  // Cut inside its header: a damaged artifact, never policy source.
  std::string cut = reseal(header, payload).substr(0, 30);
  CHECK(looks_like_artifact(cut));
  CHECK_FALSE(read_artifact(cut, error));
  CHECK(error.find("a damaged artifact: its header is cut short (30 bytes") != std::string::npos);

  // A correct checksum over a malformed payload: the profile's identity does not match its name.
  std::string bad = payload;
  size_t id = bad.find("\"id\":\"") + 6;
  REQUIRE(id != std::string::npos + 6);
  bad.replace(id, bad.find('"', id) - id, "0x1");
  CHECK_FALSE(read_artifact(reseal(header, bad), error, "x.twp"));
  CHECK(error.find("x.twp:3:1: error[E032]: identity of profile") != std::string::npos);

  // Profiles out of order.
  std::string first = payload.substr(0, payload.find('\n') + 1);
  std::string rest = payload.substr(first.size());
  std::string p1 = rest.substr(0, rest.find('\n') + 1);
  std::string p2 = rest.substr(p1.size());
  CHECK_FALSE(read_artifact(reseal(header, first + p2 + p1), error));
  CHECK(error.find("order") != std::string::npos);
}

namespace {

// `kPolicy`'s artifact with one payload line edited by `edit` and re-sealed (a valid checksum).
std::string edited(int line, const std::function<void(nlohmann::json&)>& edit) {
  auto c = compile_text(kPolicy);
  REQUIRE(c.ir);
  std::string text = write_artifact(*c.ir, "t");
  size_t nl = text.find('\n');
  auto header = nlohmann::json::parse(text.substr(0, nl));
  std::vector<std::string> lines;
  std::istringstream in(text.substr(nl + 1));
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  auto j = nlohmann::json::parse(lines.at(static_cast<size_t>(line - 1)));
  edit(j);
  lines[static_cast<size_t>(line - 1)] = j.dump();
  std::string payload;
  for (const auto& l : lines) payload += l + "\n";
  return reseal(header, payload);
}

}  // namespace

TEST_CASE("artifact: content no policy can say is refused as E032 on its line, every line") {
  // Each hand edit of a re-sealed artifact: the payload line it edits, the edit, and what the
  // error must say. Line 1 is the settings, 2 and 3 the two profiles.
  struct Row {
    const char* what;
    int line;
    std::function<void(nlohmann::json&)> edit;
    const char* says;
  };
  const std::vector<Row> rows = {
      {"errno 0", 2, [](auto& j) { j["errno"] = 0; }, "errno 0 is not one"},
      {"errno -5", 2, [](auto& j) { j["errno"] = -5; }, "errno -5 is not one"},
      {"errno 99999", 1, [](auto& j) { j["errno"] = 99999; }, "errno 99999 is not one"},
      {"max_entries -1", 2, [](auto& j) { j["limits"]["max_entries"] = {-1, 0}; }, "max_entries -1 is out of range"},
      {"max_entries 2^40", 2, [](auto& j) { j["limits"]["max_entries"] = {1ULL << 40, 0}; },
       "max_entries 1099511627776 is out of range"},
      {"max_entries 2^32-1 (unlimited)", 2, [](auto& j) { j["limits"]["max_entries"] = {4294967295ULL, 0}; },
       "out of range (at most 4294967294)"},
      {"inverted uid range", 2, [](auto& j) { j["match"][0][0] = {{"attr", 0}, {"ranges", {{2000, 1000}}}}; },
       "range 2000..1000 is inverted"},
      {"negative uid range", 2, [](auto& j) { j["match"][0][0] = {{"attr", 0}, {"ranges", {{-3, 10}}}}; },
       "range start -3 is out of range"},
      {"relative exe", 2, [](auto& j) { j["match"][0][0] = {{"attr", 3}, {"strings", {"usr/bin/x"}}}; },
       "\"usr/bin/x\" is not an absolute path"},
      {"NUL in a cgroup path", 2,
       [](auto& j) { j["match"][0][0] = {{"attr", 5}, {"strings", {std::string("/a\0b", 4)}}}; }, "NUL byte"},
      {"cgroup path with ..", 2, [](auto& j) { j["match"][0][0] = {{"attr", 4}, {"strings", {"/a/../b"}}}; },
       "not a canonical cgroup path"},
      {"duplicated profile", 3, [](auto& j) { j["name"] = "agent"; j["id"] = "0x0"; }, "identity of profile"},
      {"default maybe", 1, [](auto& j) { j["default"] = "maybe"; }, "default \"maybe\" is neither allow nor deny"},
      {"preexisting bogus", 1, [](auto& j) { j["preexisting"] = "bogus"; }, "preexisting \"bogus\" is not"},
      {"preexisting profile that does not exist", 1,
       [](auto& j) { j["preexisting"] = "profile"; j["preexisting_profile"] = "ghost"; }, "names no profile"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    std::string error;
    CHECK_FALSE(read_artifact(edited(r.line, r.edit), error, "p.twp"));
    CAPTURE(error);
    CHECK(error.find(fmt::format("p.twp:{}:1: error[E032]: ", r.line + 1)) != std::string::npos);
    CHECK(error.find(r.says) != std::string::npos);
  }
}

TEST_CASE("artifact: a duplicated identity is refused, and every bad line is named") {
  // The second profile renamed to the first, with the identity that name has: both lines parse,
  // the validator sees the same identity twice.
  auto c = compile_text(kPolicy);
  REQUIRE(c.ir);
  std::string first_name = c.ir->profiles[0].name;
  uint64_t first_id = c.ir->profiles[0].id;
  std::string error;
  std::string text = edited(3, [&](auto& j) {
    j["name"] = first_name;
    j["id"] = fmt::format("0x{:x}", first_id);
  });
  CHECK_FALSE(read_artifact(text, error, "p.twp"));
  CHECK(error.find("p.twp:4:1: error[E032]: profile `" + first_name + "` (identity") != std::string::npos);

  // Two bad profiles: two problems, one per line.
  std::string two = edited(2, [](auto& j) { j["errno"] = 0; });
  size_t nl = two.find('\n');
  auto header = nlohmann::json::parse(two.substr(0, nl));
  std::string payload = two.substr(nl + 1);
  size_t third = payload.find('\n', payload.find('\n') + 1) + 1;
  auto j3 = nlohmann::json::parse(payload.substr(third, payload.find('\n', third) - third));
  j3["errno"] = 7;
  payload = payload.substr(0, third) + j3.dump() + "\n";
  CHECK_FALSE(read_artifact(reseal(header, payload), error, "p.twp"));
  CHECK(error.find("(2 problems)") != std::string::npos);
  CHECK(error.find("p.twp:3:1: error[E032]") != std::string::npos);
  CHECK(error.find("p.twp:4:1: error[E032]") != std::string::npos);
}

TEST_CASE("artifact: sha256 of known input") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
