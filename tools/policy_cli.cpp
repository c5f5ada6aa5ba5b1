// SPDX-License-Identifier: Apache-2.0
#include "policy_cli.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "commands.h"
#include "compiler/artifact.h"
#include "errors.h"
#include "output.h"
#include "kernel/btf.h"

namespace tw::tools {

void add_target_option(CLI::App* cmd, PolicyOptions& o) {
  cmd->add_option("--target-kernel", o.target_kernel,
                  "Check names against this kernel: a version (6.12), or `running` (this kernel's BTF)")
      ->type_name("KERNEL");
}

size_t& error_limit() {
  static size_t n = 20;
  return n;
}

size_t& max_file_bytes() {
  static size_t bytes = compiler::kDefaultMaxFileBytes;
  return bytes;
}

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::string e;
  auto contents = compiler::filesystem_reader(max_file_bytes())(path, e);
  if (!contents) {
    error = fmt::format("cannot read `{}`: {}", path, e);
    return std::nullopt;
  }
  return std::move(contents->text);
}

std::optional<compiler::EventLog> read_event_files(const std::vector<std::string>& paths, compiler::SourceSet& sources,
                                                   compiler::Diagnostics& diags) {
  compiler::EventLog all;
  bool ok = true;
  for (const auto& path : paths) {
    std::string error;
    auto text = read_file(path, error);
    if (!text) {
      report_error(error, "name files that `tokenwarden audit --json` wrote");
      return std::nullopt;
    }
    uint32_t id = sources.add(path, std::move(*text));
    auto log = compiler::read_event_log(sources, id, diags);
    if (!log) {
      ok = false;
      continue;
    }
    for (auto& e : log->events) all.events.push_back(std::move(e));
    all.other_records += log->other_records;
  }
  if (!ok) return std::nullopt;
  return all;
}

bool write_file(const std::string& path, const std::string& data, std::string& error) {
  // A fresh file of our own beside the target (mkostemp creates it O_EXCL: nothing planted at its
  // name is followed or reused), written whole and synced, then renamed over the target: a
  // failed write never leaves half an artifact, and a symlink at `path` is replaced, not followed.
  std::filesystem::path target(path);
  std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::string tmpl = dir + "/." + target.filename().string() + ".XXXXXX";
  int fd = mkostemp(tmpl.data(), O_CLOEXEC);
  auto fail = [&](const char* what) {
    error = fmt::format("cannot write `{}`: {}: {}", path, what, std::strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmpl.c_str());
    return false;
  };
  if (fd < 0) {
    error = fmt::format("cannot write `{}`: cannot create a file in {}: {}", path, dir, std::strerror(errno));
    return false;
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write");
    done += static_cast<size_t>(n);
  }
  if (fchmod(fd, 0644) != 0) return fail("fchmod");
  if (fsync(fd) != 0) return fail("fsync");
  if (close(fd) != 0) {
    fd = -1;
    return fail("close");
  }
  fd = -1;
  if (rename(tmpl.c_str(), path.c_str()) != 0) return fail("rename");
  return true;
}

std::optional<compiler::TargetKernel> resolve_target(const std::string& spec) {
  compiler::TargetKernel t;
  if (spec.empty()) return t;
  if (spec == "running") {
    auto btf = kernel::KernelBtf::load();
    if (!btf) {
      report_error(btf.error());
      return std::nullopt;
    }
    std::array<vocab::EnumTable, 4> tables;
    for (auto k : vocab::kAllKinds) {
      auto table = btf->enum_table(k);
      if (!table) {
        report_error(fmt::format("this kernel's BTF has no enum {}", vocab::btf_enum_name(k)));
        return std::nullopt;
      }
      tables[static_cast<size_t>(k)] = std::move(*table);
    }
    t.tables = std::move(tables);
    t.label = "running";
    return t;
  }
  auto v = vocab::parse_kernel_version(spec);
  if (!v) {
    report_error(fmt::format("--target-kernel {}: expected a version like 6.12, or `running`", spec));
    return std::nullopt;
  }
  if (*v < vocab::kTokenKernel) {
    report_error(fmt::format("--target-kernel {}: BPF tokens need Linux {} or newer", spec, vocab::kTokenKernel.str()));
    return std::nullopt;
  }
  t.version = v;
  t.label = v->str();
  return t;
}

compiler::Compilation compile_and_report(const std::string& path, const PolicyOptions& o, bool print_summary,
                                         const std::optional<compiler::FileContents>& root) {
  compiler::CompileOptions options;
  auto target = resolve_target(o.target_kernel);
  if (!target) {
    compiler::Compilation c;
    c.diags.report(compiler::Code::E030, {}, "invalid --target-kernel");
    return c;
  }
  options.target = std::move(*target);
  options.read = compiler::filesystem_reader(max_file_bytes());
  if (root) {
    // The root file as the caller read it: read once, so that what was looked at is what compiles.
    options.read = [path, root = *root, next = std::move(options.read)](
                       const std::string& p, std::string& error) -> std::optional<compiler::FileContents> {
      if (p == path) return root;
      return next(p, error);
    };
  }
  options.diagnostic_limit = error_limit();
  compiler::Compilation c = compiler::compile_policy(path, options);
  report_diagnostics(c.diags, c.sources);
  if (!json_output() && print_summary && (!c.diags.all().empty() || c.diags.has_errors()))
    fmt::print(stderr, "{}: {}\n", path, compiler::summary(c.diags));
  return c;
}

void report_diagnostics(const compiler::Diagnostics& diags, const compiler::SourceSet& sources) {
  if (json_output()) {
    auto& doc = document();
    if (!doc["diagnostics"].is_array()) doc["diagnostics"] = nlohmann::json::array();
    for (auto& d : compiler::diagnostics_json(diags.all(), sources)) doc["diagnostics"].push_back(std::move(d));
    size_t before = doc["diagnostics_not_shown"].is_number() ? doc["diagnostics_not_shown"].get<size_t>() : 0;
    doc["diagnostics_not_shown"] = before + diags.not_kept();
    return;
  }
  bool color = isatty(STDERR_FILENO) && !std::getenv("NO_COLOR");
  for (const auto& d : diags.all()) fmt::print(stderr, "{}", compiler::render_text(d, sources, color));
  if (auto more = compiler::not_shown(diags); !more.empty()) fmt::print(stderr, "{}\n", more);
}

Outcome<LoadedPolicy> load_ir(const std::string& path, const PolicyOptions& o) {
  std::string error;
  auto file = compiler::filesystem_reader(max_file_bytes())(path, error);
  if (!file) {
    report_error(fmt::format("cannot read `{}`: {}", path, error));
    return Outcome<LoadedPolicy>::failed(kExitPolicyError);
  }
  if (compiler::looks_like_artifact(file->text)) {
    auto a = compiler::read_artifact(file->text, error, path);
    if (!a) {
      report_error(fmt::format("{}: {}", path, error));
      return Outcome<LoadedPolicy>::failed(kExitPolicyError);
    }
    return LoadedPolicy{std::move(a->ir), a->digest, {path}};
  }
  auto c = compile_and_report(path, o, true, file);
  if (!c.ir) return Outcome<LoadedPolicy>::failed(kExitPolicyError);
  LoadedPolicy loaded{std::move(*c.ir), {}, {}};
  loaded.digest = compiler::policy_digest(loaded.ir);
  for (size_t i = 0; i < c.sources.size(); ++i) loaded.files.push_back(c.sources.file(static_cast<uint32_t>(i)).path);
  return loaded;
}

}  // namespace tw::tools
