// The compiled artifact: what `tokenwarden compile` writes and `load` applies on a target with no
// compiler toolchain. JSON with a format name, a format version, the compiler that made it, the
// SHA-256 of the payload, and the payload (the IR, ir_io.h). Reading verifies all of them.
#pragma once

#include <optional>
#include <string>

#include "ir.h"

namespace tw::compiler {

inline constexpr const char* kArtifactFormat = "tokenwarden-policy";
inline constexpr int kArtifactVersion = 1;

struct Artifact {
  Ir ir;
  std::string sha256;    // hex, of the payload's canonical JSON
  std::string compiler;  // "tokenwarden 0.1.0"
};

std::string write_artifact(const Ir& ir, const std::string& compiler_version);
// nullopt with `error` saying what is wrong (not JSON, wrong format, newer version, checksum).
std::optional<Artifact> read_artifact(const std::string& text, std::string& error);
// Does `text` look like an artifact (rather than policy source)?
bool looks_like_artifact(const std::string& text);

std::string sha256_hex(const std::string& data);

}  // namespace tw::compiler
