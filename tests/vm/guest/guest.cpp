#include "guest.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "kernel/bpf.h"

namespace twvm {

using namespace tw::kernel;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

// Reads everything a child wrote to the pipe's read end (closing it).
std::string read_answer(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::string outcome_of(const Result<UniqueFd>& r) { return r ? "ok" : errno_name(r.error().err); }

std::string in_delegated(const DelegateSpec& spec, const std::function<std::string(DelegatedMount&)>& body) {
  int p[2];
  if (pipe(p) != 0) return "setup:pipe";
  auto status = run_in_delegated_userns(spec, [&](DelegatedMount& m) {
    close(p[0]);
    std::string r = body(m);
    return write(p[1], r.data(), r.size()) == static_cast<ssize_t>(r.size()) ? 0 : 1;
  });
  close(p[1]);
  std::string answer = read_answer(p[0]);
  if (!status) return "setup:" + status.error().message();
  return answer;
}

std::string token_session(const TokenSession& s, const std::function<std::string(int)>& ops) {
  if (!s.cgroup.empty() && !move_to_cgroup(s.cgroup)) return "setup:cgroup " + s.cgroup;
  DelegateSpec spec;
  spec.masks = s.masks;
  std::string answer = in_delegated(spec, [&](DelegatedMount& m) {
    if (s.setup)
      if (std::string e = s.setup(); !e.empty()) return e;
    auto token = token_create(m.root_fd.get());
    std::string r = "token=" + outcome_of(token);
    if (token) r += " " + ops(token->get());
    return r;
  });
  if (!s.cgroup.empty()) move_to_cgroup("");
  return answer;
}

void Expectations::operator()(const std::string& what, const std::string& got, const std::string& want) {
  if (log) std::fprintf(stderr, "TWVM-STEP %s: %s\n", what.c_str(), got.c_str());
  if (got != want) bad.push_back(what + ": got `" + got + "`, want `" + want + "`");
}

Outcome Expectations::result(const std::string& detail) const {
  if (bad.empty()) return pass(detail);
  std::string all;
  for (const auto& b : bad) all += b + "; ";
  return fail(all + detail);
}

std::pair<int, std::string> sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool move_to_cgroup(const std::string& cg) {
  std::string dir = "/sys/fs/cgroup" + cg;
  mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/cgroup.procs") << getpid();
  return read_text("/proc/self/cgroup").find("::" + cg) != std::string::npos;
}


}  // namespace twvm
