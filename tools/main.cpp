// SPDX-License-Identifier: Apache-2.0
// tokenwarden: one binary, one file per verb (cmd_<verb>.cpp). main only registers the verbs
// and returns the exit code a handler chose.
#include <CLI/CLI.hpp>

#include "commands.h"
#include "usage.h"
#include "policy_cli.h"
#include "version.h"

int main(int argc, char** argv) {
  CLI::App app{"tokenwarden: fine-grained, restrictive control over Linux BPF tokens"};
  app.set_version_flag("--version", std::string("tokenwarden ") + TW_VERSION);
  app.require_subcommand(1);
  app.footer("Run `tokenwarden VERB --help` for a verb's options and an example.");
  // Options of the whole binary, accepted after the verb too.
  app.fallthrough();
  app.add_option("--max-file-size", tw::tools::max_file_bytes(),
                 "Largest policy, include, artifact or case file read, in bytes")
      ->capture_default_str();
  app.add_option("--error-limit", tw::tools::error_limit(),
                 "Errors (and warnings) shown at most per policy; the others are counted (0: all)")
      ->capture_default_str();
  int exit_code = tw::tools::kExitOk;
  tw::tools::register_doctor(app, exit_code);
  tw::tools::register_delegate(app, exit_code);
  tw::tools::register_check(app, exit_code);
  tw::tools::register_compile(app, exit_code);
  tw::tools::register_explain(app, exit_code);
  tw::tools::register_simulate(app, exit_code);
  tw::tools::register_test(app, exit_code);
  tw::tools::register_load(app, exit_code);
  tw::tools::register_replace(app, exit_code);
  tw::tools::register_unload(app, exit_code);
  tw::tools::register_status(app, exit_code);
  tw::tools::register_audit(app, exit_code);
  tw::tools::register_agent(app, exit_code);
  tw::tools::register_completion(app, exit_code);
  if (int bad = tw::tools::unknown_verb(app, argc, argv)) return bad;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is a usage error, one code for all.
    return app.exit(e) == 0 ? tw::tools::kExitOk : tw::tools::kExitUsage;
  }
  return exit_code;
}
