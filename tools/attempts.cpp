// SPDX-License-Identifier: Apache-2.0
#include "attempts.h"

#include <fmt/core.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "policy_cli.h"

namespace tw::tools {

namespace {

std::string attempt_file(const std::string& pin_root) {
  const char* dir = std::getenv("TOKENWARDEN_RUN_DIR");
  std::string name = pin_root;
  for (char& c : name)
    if (c == '/') c = '_';
  return fmt::format("{}/attempt{}.json", dir && *dir ? dir : "/run/tokenwarden", name);
}

}  // namespace

void record_attempt(const std::string& pin_root, const std::string& verb, const std::string& policy, int exit_code) {
  std::string file = attempt_file(pin_root);
  mkdir(file.substr(0, file.rfind('/')).c_str(), 0755);  // exists already, or the write below says nothing
  nlohmann::json j = {{"verb", verb}, {"policy", policy}, {"exit", exit_code}, {"time", std::time(nullptr)}};
  std::string error;
  (void)write_file(file, j.dump() + "\n", error);
}

std::optional<Attempt> last_attempt(const std::string& pin_root) {
  std::string error;
  auto text = read_file(attempt_file(pin_root), error);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("verb") || !j["verb"].is_string() || !j.contains("policy") ||
      !j["policy"].is_string() || !j.contains("exit") || !j["exit"].is_number_integer() || !j.contains("time") ||
      !j["time"].is_number_unsigned())
    return std::nullopt;
  return Attempt{j["verb"], j["policy"], j["exit"], j["time"]};
}

std::string attempt_outcome(int exit_code) {
  switch (exit_code) {
    case kExitOk: return "succeeded";
    case kExitPolicyError: return "failed: the policy was refused (exit 1)";
    case kExitSystemError: return "failed: the kernel or the system refused (exit 2)";
    default: return fmt::format("failed (exit {})", exit_code);
  }
}

}  // namespace tw::tools
