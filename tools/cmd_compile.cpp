// SPDX-License-Identifier: Apache-2.0
// tokenwarden compile POLICY -o ARTIFACT: the versioned, checksummed artifact that `load` applies
// (no compiler needed on the target); --emit ir|json prints the decision IR instead, --emit cil
// the SELinux backend's CIL (compiled and checked in-process with libsepol first).
#include <fmt/core.h>

#include "commands.h"
#include "output.h"
#include "compiler/artifact.h"
#include "compiler/cil_backend.h"
#include "compiler/ir_io.h"
#include "policy_cli.h"
#include "version.h"
#include "compiler/json_text.h"

namespace tw::tools {
namespace {

struct Args {
  std::string policy, output, emit;
  PolicyOptions o;
};

int run(const Args& a) {
  begin_document("compile", {"policy", "emit", "output", "profiles", "sha256", "content", "diagnostics",
                             "diagnostics_not_shown"});
  auto& doc = document();
  doc["policy"] = a.policy;
  doc["emit"] = a.emit.empty() ? "artifact" : a.emit;
  auto c = compile_and_report(a.policy, a.o, true);
  if (!c.ir) return kExitPolicyError;
  doc["profiles"] = c.ir->profiles.size();
  doc["sha256"] = compiler::hex(compiler::policy_digest(*c.ir));
  std::string data;
  if (a.emit == "cil") {
    auto module = compiler::lower_to_cil(*c.ir);
    compiler::Diagnostics diags;
    if (!compiler::check_cil(module, c.sources, diags)) {
      report_diagnostics(diags, c.sources);
      return kExitPolicyError;
    }
    data = module.text;
  } else if (a.emit == "ir") data = compiler::ir_to_text(*c.ir);
  else if (a.emit == "json") data = dump_json(compiler::ir_to_json(*c.ir), 2) + "\n";
  else data = compiler::write_artifact(*c.ir, std::string("tokenwarden ") + TW_VERSION);
  if (a.output.empty() || a.output == "-") {
    if (json_output()) doc["content"] = data;
    else fmt::print("{}", data);
    return kExitOk;
  }
  std::string error;
  if (!write_file(a.output, data, error)) {
    report_error(error);
    return kExitSystemError;
  }
  doc["output"] = a.output;
  if (a.emit.empty() && !json_output())
    fmt::print(stderr, "{}: compiled {} profile{} into {}\n", a.policy, c.ir->profiles.size(),
               c.ir->profiles.size() == 1 ? "" : "s", a.output);
  return kExitOk;
}

}  // namespace

void register_compile(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("compile", "Compile a policy into an artifact for `load`, or print its IR");
  cmd->footer(
      "Exit status: 0 compiled, 1 policy errors (nothing is written), 2 the output could not be written.\n"
      "Example:\n  tokenwarden compile examples/ci-runner.tw -o ci-runner.twp\n"
      "  tokenwarden compile --emit ir examples/ci-runner.tw\n"
      "  tokenwarden compile --emit cil policy.tw -o policy.cil && semodule -i policy.cil");
  static Args a;
  cmd->add_option("POLICY", a.policy, "Policy file (.tw)")->required();
  cmd->add_option("-o,--output", a.output, "Where to write (default: stdout)")->type_name("FILE");
  cmd->add_option("--emit", a.emit,
                  "Instead of an artifact: the decision IR (ir: text, json), or the SELinux backend's CIL (cil)")
      ->check(CLI::IsMember({"ir", "json", "cil"}));
  add_target_option(cmd, a.o);
  cmd->callback([&exit_code] { exit_code = run(a); });
}

}  // namespace tw::tools
