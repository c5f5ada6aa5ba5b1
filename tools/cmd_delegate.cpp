// SPDX-License-Identifier: Apache-2.0
// tokenwarden delegate: run a command as root of a fresh user namespace with a private bpffs
// carrying delegate_* options, mounted on /sys/fs/bpf, like systemd's PrivateBPF= with
// BPFDelegate*=. libbpf inside picks the token up by itself.
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "commands.h"
#include <nlohmann/json.hpp>

#include "errors.h"
#include "output.h"
#include "kernel/bpffs.h"
#include "vocab/catalogue.h"
#include "kernel/delegation.h"

namespace tw::tools {
namespace {

struct Options {
  std::string lists[4];  // indexed by EnumKind
  std::string mount_at = "/sys/fs/bpf";
  bool quiet = false;
  bool dry_run = false;
  std::vector<std::string> command;
};

int run(const Options& o) {
  begin_document("delegate", {"mount_at", "options", "command", "command_exit"});
  auto& doc = document();
  doc["mount_at"] = o.mount_at;
  doc["command"] = o.command;
  kernel::DelegateSpec spec;
  spec.mount_at = o.mount_at;
  spec.supervise = true;  // the command never outlives `delegate`, and gets its signals
  bool bad = false;
  for (vocab::EnumKind kind : vocab::kAllKinds) {
    const std::string& text = o.lists[static_cast<int>(kind)];
    auto parsed = kernel::parse_user_list(vocab::builtin_table(kind), text);
    for (const auto& e : parsed.errors) {
      report_error(fmt::format("--{}: {}", vocab::option_suffix(kind), e.message));
      bad = true;
    }
    spec.masks.of(kind) = parsed.mask;
  }
  if (bad) return kExitPolicyError;

  auto options = kernel::delegate_fsconfig_options(spec.masks);
  doc["options"] = nlohmann::json::object();
  for (const auto& [k, v] : options) doc["options"][k] = v;
  if (!json_output() && (!o.quiet || o.dry_run)) {
    std::string shown;
    for (const auto& [k, v] : options) shown += fmt::format("{}{}={}", shown.empty() ? "" : ",", k, v);
    fmt::print(stderr, "tokenwarden delegate: bpffs on {} with {}\n", o.mount_at,
               shown.empty() ? "no delegation" : shown);
  }
  if (o.dry_run) return kExitOk;
  if (o.command.empty()) {
    report_error("no command given (put it after --)");
    return kExitPolicyError;
  }

  auto status = kernel::run_in_delegated_userns(spec, [&](kernel::DelegatedMount&) -> int {
    if (o.mount_at != "/sys/fs/bpf") setenv("LIBBPF_BPF_TOKEN_PATH", o.mount_at.c_str(), 1);
    std::vector<char*> argv;
    for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    report_error(kernel::errno_error("execvp", o.command[0]));
    return 127;
  });
  if (!status) {
    report_error(status.error());
    return kExitSystemError;
  }
  doc["command_exit"] = *status;
  return *status;
}

}  // namespace

void register_delegate(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "delegate", "Run a command in a user namespace with a delegated bpffs on /sys/fs/bpf");
  cmd->footer(
      "Lists are comma- or colon-separated; names are the kernel's (map_create, hash, xdp,\n"
      "cgroup_inet_ingress), the full enum names (BPF_MAP_CREATE) or systemd's (BPFMapCreate,\n"
      "BPFProgTypeXdp), case-insensitive; `any` delegates everything; numbers are bit masks.\n"
      "Needs root (setting delegate_* options requires CAP_SYS_ADMIN in the initial namespace).\n"
      "Remember: a program loaded with attach type 0 needs cgroup_inet_ingress in --attachs.\n"
      "Example:\n"
      "  tokenwarden delegate --cmds map_create,prog_load --maps array \\\n"
      "      --progs socket_filter --attachs cgroup_inet_ingress -- ./my-libbpf-loader");
  static Options o;
  cmd->add_option("--cmds", o.lists[0], "BPF commands to delegate (delegate_cmds)")->type_name("CMDS");
  cmd->add_option("--maps", o.lists[1], "Map types to delegate (delegate_maps)")->type_name("MAP_TYPES");
  cmd->add_option("--progs", o.lists[2], "Program types to delegate (delegate_progs)")->type_name("PROG_TYPES");
  cmd->add_option("--attachs", o.lists[3], "Attach types to delegate (delegate_attachs)")->type_name("ATTACH_TYPES");
  cmd->add_option("--mount-at", o.mount_at, "Where to mount the bpffs in the new namespace")
      ->type_name("DIR")
      ->capture_default_str();
  cmd->add_flag("--dry-run", o.dry_run, "Print the mount options and exit");
  cmd->add_flag("-q,--quiet", o.quiet, "Do not print the mount options");
  cmd->add_option("command", o.command, "Command and arguments, after --")->type_name("COMMAND");
  cmd->callback([&exit_code] { exit_code = run(o); });
}

}  // namespace tw::tools
