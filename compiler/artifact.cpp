#include "artifact.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "ir_io.h"

namespace tw::compiler {

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

std::string write_artifact(const Ir& ir, const std::string& compiler_version) {
  nlohmann::json payload = ir_to_json(ir);
  nlohmann::json j = {{"format", kArtifactFormat},
                      {"version", kArtifactVersion},
                      {"compiler", compiler_version},
                      {"sha256", sha256_hex(payload.dump())},
                      {"payload", payload}};
  return j.dump(1) + "\n";
}

bool looks_like_artifact(const std::string& text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  return i != std::string::npos && text[i] == '{' && text.find(kArtifactFormat) != std::string::npos;
}

std::optional<Artifact> read_artifact(const std::string& text, std::string& error) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "not a tokenwarden artifact (not JSON)";
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
  if (!j.contains("payload") || !j.contains("sha256") || !j["sha256"].is_string()) {
    error = "artifact is missing its payload or checksum";
    return std::nullopt;
  }
  std::string sum = sha256_hex(j["payload"].dump());
  if (sum != j["sha256"].get<std::string>()) {
    error = fmt::format("artifact checksum mismatch (recorded {}, computed {}): the file was modified or damaged",
                        j["sha256"].get<std::string>(), sum);
    return std::nullopt;
  }
  std::string ir_error;
  auto ir = ir_from_json(j["payload"], ir_error);
  if (!ir) {
    error = "artifact payload is malformed: " + ir_error;
    return std::nullopt;
  }
  return Artifact{std::move(*ir), sum, j.value("compiler", "")};
}

}  // namespace tw::compiler
