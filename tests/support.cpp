// SPDX-License-Identifier: Apache-2.0
#include "support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "kernel/result.h"

namespace tw::test {

void require(bool needed, const std::string& reason) {
  if (needed) return;
  const char* ci = std::getenv("CI");
  if (ci && *ci && std::string(ci) != "false") FAIL("cannot run in CI: " << reason);
  std::fprintf(stderr, "SKIPPED: %s\n", reason.c_str());
  std::fflush(nullptr);
  std::_Exit(kSkipExitCode);
}

void require_root() { require(geteuid() == 0, "needs root (delegation options need CAP_SYS_ADMIN)"); }

kernel::Result<Observations> try_in_delegated_userns(
    const kernel::DelegateSpec& spec,
    const std::function<void(kernel::DelegatedMount&, const Record&)>& body) {
  int p[2];
  if (pipe(p) != 0) return kernel::errno_error("pipe");
  auto status = kernel::run_in_delegated_userns(spec, [&](kernel::DelegatedMount& m) {
    close(p[0]);
    FILE* out = fdopen(p[1], "w");
    body(m, [&](const std::string& k, const std::string& v) {
      std::fprintf(out, "%s=%s\n", k.c_str(), v.c_str());
    });
    std::fclose(out);
    return 0;
  });
  close(p[1]);
  std::string text;
  std::array<char, 4096> buf;
  ssize_t n;
  while ((n = read(p[0], buf.data(), buf.size())) > 0) text.append(buf.data(), static_cast<size_t>(n));
  close(p[0]);
  if (!status) return status.error();
  Observations o;
  o.status = *status;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) o.values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return o;
}

Observations in_delegated_userns(const kernel::DelegateSpec& spec,
                                 const std::function<void(kernel::DelegatedMount&, const Record&)>& body) {
  auto o = try_in_delegated_userns(spec, body);
  if (!o) FAIL("delegation setup failed: " << o.error().message());
  return std::move(o).value();
}

std::pair<int, std::string> run_command(const std::string& cmd) {
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  int st = pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

}  // namespace tw::test
