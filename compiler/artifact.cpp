// SPDX-License-Identifier: Apache-2.0
#include "artifact.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "ir_io.h"
#include "ir_validate.h"
#include "json_text.h"

namespace tw::compiler {

Digest sha256(std::string_view data) {
  Digest d{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

std::string hex(const Digest& d) {
  std::string out;
  for (uint8_t b : d) out += fmt::format("{:02x}", b);
  return out;
}

Digest policy_digest(const Ir& ir) { return sha256(ir_to_json_lines(ir)); }

std::string write_artifact(const Ir& ir, const std::string& compiler_version) {
  std::string payload = ir_to_json_lines(ir);
  nlohmann::json header = {{"format", kArtifactFormat},
                           {"version", kArtifactVersion},
                           {"compiler", compiler_version},
                           {"payload_bytes", payload.size()},
                           {"sha256", sha256_hex(payload)}};
  return dump_json(header) + "\n" + payload;
}

bool looks_like_artifact(const std::string& text) {
  // Policy source never starts with `{` (no statement does); an artifact's JSON header always
  // does, so a header cut short is still read as a (damaged) artifact, not compiled as source.
  return !text.empty() && text.front() == '{';
}

std::optional<Artifact> read_artifact(const std::string& text, std::string& error, std::string_view name) {
  size_t nl = text.find('\n');
  nlohmann::json j = nlohmann::json::parse(text.substr(0, nl), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = nl == std::string::npos
                ? fmt::format("a damaged artifact: its header is cut short ({} bytes and no end of line)", text.size())
                : "not a tokenwarden artifact (its first line is not a JSON header)";
    return std::nullopt;
  }
  if (j.value("format", "") != kArtifactFormat) {
    error = fmt::format("not a tokenwarden artifact (format is not \"{}\")", kArtifactFormat);
    return std::nullopt;
  }
  if (!j.contains("version") || !j["version"].is_number_integer()) {
    error = "artifact has no format version";
    return std::nullopt;
  }
  int version = j["version"].get<int>();
  if (version != kArtifactVersion) {
    error = fmt::format("artifact format version {} is not supported (this tokenwarden reads version {}){}", version,
                        kArtifactVersion, version > kArtifactVersion ? ": it was made by a newer tokenwarden" : "");
    return std::nullopt;
  }
  if (!j.contains("sha256") || !j["sha256"].is_string() || !j.contains("payload_bytes") ||
      !j["payload_bytes"].is_number_unsigned()) {
    error = "artifact header is missing the payload's checksum or size";
    return std::nullopt;
  }
  std::string_view payload = nl == std::string::npos ? std::string_view() : std::string_view(text).substr(nl + 1);
  if (payload.size() != j["payload_bytes"].get<uint64_t>()) {
    error = fmt::format("artifact is truncated or has extra bytes (payload is {} bytes, header says {})",
                        payload.size(), j["payload_bytes"].get<uint64_t>());
    return std::nullopt;
  }
  Digest digest = sha256(payload);
  std::string sum = hex(digest);
  if (sum != j["sha256"].get<std::string>()) {
    error = fmt::format("artifact checksum mismatch (recorded {}, computed {}): the file was modified or damaged",
                        j["sha256"].get<std::string>(), sum);
    return std::nullopt;
  }
  std::vector<IrProblem> problems;
  auto ir = ir_from_json_lines(payload, problems);
  if (ir) problems = validate_ir(*ir);
  if (!problems.empty()) {
    error = fmt::format("artifact content is invalid ({} problem{}); it was not made by `tokenwarden compile` as it is:",
                        problems.size(), problems.size() == 1 ? "" : "s");
    // Payload line N is line N + 1 of the file (after the header).
    for (const auto& p : problems)
      error += fmt::format("\n  {}:{}:1: error[E032]: {}", name, p.line + 1, p.message);
    return std::nullopt;
  }
  return Artifact{std::move(*ir), digest, j.value("compiler", "")};
}

}  // namespace tw::compiler
