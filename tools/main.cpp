// SPDX-License-Identifier: Apache-2.0
// tokenwarden: one binary, one file per verb (cmd_<verb>.cpp). main only registers the verbs
// and returns the exit code a handler chose.
#include <CLI/CLI.hpp>
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstring>

#include "commands.h"
#include "output.h"
#include "policy_cli.h"
#include "usage.h"
#include "version.h"
#include "vocab/abi_pin.h"
#include "vocab/tw_abi.h"

namespace {

// tokenwarden --version [--json]: this build, the libbpf it runs with, and the ABI between its
// loader and its BPF programs (which decides whether one build can replace another's policy).
int print_version(bool json) {
  if (json) {
    tw::tools::begin_document("version", {});
    auto& d = tw::tools::document();
    d["tokenwarden"] = TW_VERSION;
    d["libbpf"] = libbpf_version_string();
    d["bpf_abi"] = TW_ABI_VERSION;
    d["vocabulary"] = fmt::format("{:016x}", tw::vocab::fingerprint(tw::vocab::kAbiVocabulary));
    return tw::tools::finish(tw::tools::kExitOk);
  } else {
    fmt::print("tokenwarden {} (libbpf {}, BPF program ABI {})\n", TW_VERSION, libbpf_version_string(),
               TW_ABI_VERSION);
  }
  return tw::tools::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tokenwarden: fine-grained, restrictive control over Linux BPF tokens"};
  // --version is answered before the verbs are parsed, so that it takes --json too.
  static bool version_asked = false;  // for --help; the scan below answers it
  app.add_flag("--version", version_asked,
               "Print the version, libbpf's version and the BPF program ABI, and exit (with --json: as JSON)");
  // --json is looked for by hand too: --version and the usage errors below are answered before
  // CLI11 parses anything.
  bool version = false;
  for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) tw::tools::json_output() = true;
    if (std::strcmp(argv[i], "--version") == 0) version = true;
  }
  if (version) return print_version(tw::tools::json_output());
  app.require_subcommand(1);
  app.footer("Run `tokenwarden VERB --help` for a verb's options and an example.");
  // Options of the whole binary, accepted after the verb too.
  app.fallthrough();
  app.add_option("--max-file-size", tw::tools::max_file_bytes(),
                 "Largest policy, include, artifact or case file read, in bytes")
      ->capture_default_str();
  app.add_flag("--json", tw::tools::json_output(),
               "Print one JSON document on stdout (errors included) instead of text; docs/json.md gives the shapes");
  app.add_option("--error-limit", tw::tools::error_limit(),
                 "Errors (and warnings) shown at most per policy; the others are counted (0: all)")
      ->capture_default_str();
  int exit_code = tw::tools::kExitOk;
  tw::tools::register_doctor(app, exit_code);
  tw::tools::register_delegate(app, exit_code);
  tw::tools::register_catalogue(app, exit_code);
  tw::tools::register_check(app, exit_code);
  tw::tools::register_compile(app, exit_code);
  tw::tools::register_explain(app, exit_code);
  tw::tools::register_simulate(app, exit_code);
  tw::tools::register_import(app, exit_code);
  tw::tools::register_generate(app, exit_code);
  tw::tools::register_replay(app, exit_code);
  tw::tools::register_why(app, exit_code);
  tw::tools::register_test(app, exit_code);
  tw::tools::register_load(app, exit_code);
  tw::tools::register_replace(app, exit_code);
  tw::tools::register_unload(app, exit_code);
  tw::tools::register_status(app, exit_code);
  tw::tools::register_audit(app, exit_code);
  tw::tools::register_agent(app, exit_code);
  tw::tools::register_completion(app, exit_code);
  if (int bad = tw::tools::unknown_verb(app, argc, argv)) return tw::tools::finish(bad);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; every other parse error is a usage error, one code for all.
    if (e.get_exit_code() == 0 || !tw::tools::json_output())
      return app.exit(e) == 0 ? tw::tools::kExitOk : tw::tools::kExitUsage;
    tw::tools::report_error(e.what(), "`tokenwarden VERB --help` lists a verb's options");
    return tw::tools::finish(tw::tools::kExitUsage);
  }
  return tw::tools::finish(exit_code);
}
