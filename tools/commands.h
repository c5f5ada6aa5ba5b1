// SPDX-License-Identifier: Apache-2.0
// Each subcommand lives in its own cmd_<verb>.cpp and registers itself on the CLI11 app with
// its options, help text (with an example) and handler. Handlers store their exit code in
// `exit_code`; main() only registers and returns it.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <utility>

namespace tw::tools {

// Exit codes shared by every verb.
enum ExitCode : int {
  kExitOk = 0,
  kExitPolicyError = 1,    // the user's policy or input is wrong (diagnostics printed)
  kExitSystemError = 2,    // a kernel or system operation failed (operation + errno + hint)
  kExitCannotEnforce = 3,  // doctor: this kernel cannot enforce tokenwarden policies
  kExitAlreadyLoaded = 4,  // load: a policy is already loaded there (nothing was refused; replace, or unload first)
  kExitUsage = 64,         // the command line is wrong: an unknown verb or option, a bad value (EX_USAGE)
};

// What a step of a verb produced, or the exit code it failed with (its errors already reported
// through output.h). Returned instead of filling an `int& exit_code`.
template <class T>
class Outcome {
 public:
  Outcome(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  static Outcome failed(int exit_code) { return Outcome(exit_code); }
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  int exit_code() const { return exit_code_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  explicit Outcome(int exit_code) : exit_code_(exit_code) {}
  std::optional<T> value_;
  int exit_code_ = 0;
};

void register_doctor(CLI::App& app, int& exit_code);
void register_delegate(CLI::App& app, int& exit_code);
void register_catalogue(CLI::App& app, int& exit_code);
void register_check(CLI::App& app, int& exit_code);
void register_compile(CLI::App& app, int& exit_code);
void register_explain(CLI::App& app, int& exit_code);
void register_simulate(CLI::App& app, int& exit_code);
void register_import(CLI::App& app, int& exit_code);
void register_generate(CLI::App& app, int& exit_code);
void register_replay(CLI::App& app, int& exit_code);
void register_why(CLI::App& app, int& exit_code);
void register_test(CLI::App& app, int& exit_code);
void register_load(CLI::App& app, int& exit_code);
void register_replace(CLI::App& app, int& exit_code);
void register_unload(CLI::App& app, int& exit_code);
void register_status(CLI::App& app, int& exit_code);
void register_audit(CLI::App& app, int& exit_code);
void register_agent(CLI::App& app, int& exit_code);
void register_completion(CLI::App& app, int& exit_code);  // completion.h

}  // namespace tw::tools
