// SPDX-License-Identifier: Apache-2.0
// The compiled artifact: what `tokenwarden compile` writes and `load` applies on a target with no
// compiler toolchain. Text in JSON lines: a header line (format name, format version, the compiler
// that made it, the SHA-256 and size of the payload), then the payload, the IR as JSON lines
// (ir_io.h: the policy's settings and rules, then one line per profile, so artifacts diff well).
// Reading verifies all of it before anything is used.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "ir.h"

namespace tw::compiler {

inline constexpr const char* kArtifactFormat = "tokenwarden-policy";
inline constexpr int kArtifactVersion = 1;

// A policy's identity: the SHA-256 of its artifact's payload (the IR's canonical JSON lines), the
// same whether it was compiled on the spot or read from an artifact. The BPF settings carry it as
// these bytes; people see hex.
using Digest = std::array<uint8_t, 32>;
std::string hex(const Digest& d);
Digest sha256(std::string_view data);
Digest policy_digest(const Ir& ir);  // what write_artifact's payload hashes to

struct Artifact {
  Ir ir;
  Digest digest{};       // of the payload
  std::string compiler;  // "tokenwarden 0.1.0"
};

std::string write_artifact(const Ir& ir, const std::string& compiler_version);
// nullopt with `error` saying what is wrong (not JSON, wrong format, newer version, checksum),
// or listing, one line each as `NAME:LINE:1: error[E032]: ...`, every piece of content the
// checker would have refused (validate_ir).
std::optional<Artifact> read_artifact(const std::string& text, std::string& error,
                                      std::string_view name = "artifact");
// Does `text` look like an artifact (rather than policy source)? Anything starting with `{`.
bool looks_like_artifact(const std::string& text);

inline std::string sha256_hex(std::string_view data) { return hex(sha256(data)); }

}  // namespace tw::compiler
