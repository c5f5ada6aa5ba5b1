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

TEST_CASE("artifact: damage, other formats and versions are refused with a reason") {
  auto c = compile_text(kPolicy);
  REQUIRE(c.ir);
  auto j = nlohmann::json::parse(write_artifact(*c.ir, "t"));
  std::string error;

  auto tampered = j;
  tampered["payload"]["profiles"][0]["limits"]["maps"]["value"] = 300;
  CHECK_FALSE(read_artifact(tampered.dump(), error));
  CHECK(error.find("checksum mismatch") != std::string::npos);

  auto newer = j;
  newer["version"] = 2;
  CHECK_FALSE(read_artifact(newer.dump(), error));
  CHECK(error.find("newer tokenwarden") != std::string::npos);

  CHECK_FALSE(read_artifact("{\"format\": \"something-else\"}", error));
  CHECK(error.find("not a tokenwarden artifact") != std::string::npos);
  CHECK_FALSE(read_artifact(std::string(j.dump()).substr(0, 100), error));

  // A well-formed checksum over a malformed payload.
  auto bad = j;
  bad["payload"]["profiles"][0]["id"] = "0x1";
  bad["sha256"] = sha256_hex(bad["payload"].dump());
  CHECK_FALSE(read_artifact(bad.dump(), error));
  CHECK(error.find("identity") != std::string::npos);
}

TEST_CASE("artifact: sha256 of known input") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
