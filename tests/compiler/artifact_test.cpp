#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

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
  CHECK(a->sha256.size() == 64);
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

  // A correct checksum over a malformed payload: the profile's identity does not match its name.
  std::string bad = payload;
  size_t id = bad.find("\"id\":\"") + 6;
  REQUIRE(id != std::string::npos + 6);
  bad.replace(id, bad.find('"', id) - id, "0x1");
  CHECK_FALSE(read_artifact(reseal(header, bad), error));
  CHECK(error.find("malformed") != std::string::npos);

  // Profiles out of order.
  std::string first = payload.substr(0, payload.find('\n') + 1);
  std::string rest = payload.substr(first.size());
  std::string p1 = rest.substr(0, rest.find('\n') + 1);
  std::string p2 = rest.substr(p1.size());
  CHECK_FALSE(read_artifact(reseal(header, first + p2 + p1), error));
  CHECK(error.find("order") != std::string::npos);
}

TEST_CASE("artifact: sha256 of known input") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
