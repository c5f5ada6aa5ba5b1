// SPDX-License-Identifier: Apache-2.0
#include "guest.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "kernel/bpf.h"
#include "vocab/catalogue.h"
#include "vocab/names.h"

namespace twvm {

using namespace tw::kernel;
using namespace tw::vocab;

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


std::string token_session(const std::string& cg, const std::function<std::string(int)>& ops) {
  TokenSession s;
  s.masks.cmds = 1ULL << BPF_MAP_CREATE;
  s.masks.maps = (1ULL << BPF_MAP_TYPE_ARRAY) | (1ULL << BPF_MAP_TYPE_HASH);
  s.cgroup = cg;
  return token_session(s, ops);
}

std::string map_outcome(int token_fd, uint32_t type, uint32_t max_entries) {
  return outcome_of(map_create({.type = type, .key_size = 4, .value_size = 8, .max_entries = max_entries}, token_fd));
}

TokenHolder::TokenHolder(const std::string& cg) {
  int req[2], resp[2];
  if (pipe(req) != 0 || pipe(resp) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    close(req[1]);
    close(resp[0]);
    std::string r = token_session(cg, [&](int fd) {
      std::string hello = "ready";
      if (write(resp[1], hello.data(), hello.size()) < 0) return std::string("io");
      char c;
      while (read(req[0], &c, 1) == 1 && c != 'q') {
        std::string out = c == 'a'   ? map_outcome(fd, BPF_MAP_TYPE_ARRAY, 4)
                          : c == 'h' ? map_outcome(fd, BPF_MAP_TYPE_HASH, 4)
                                     : outcome_of(map_create({.type = BPF_MAP_TYPE_RINGBUF, .key_size = 0,
                                                              .value_size = 0, .max_entries = 4096}, fd));
        out.resize(8, ' ');
        if (write(resp[1], out.data(), out.size()) < 0) break;
      }
      return std::string("done");
    });
    // Creating the token failed: say so instead of "ready".
    if (r.rfind("token=ok", 0) != 0 && write(resp[1], r.data(), std::min<size_t>(r.size(), 5)) < 0) _exit(3);
    _exit(0);
  }
  close(req[0]);
  close(resp[1]);
  req_ = req[1];
  resp_ = resp[0];
  char buf[6] = {};
  if (read(resp_, buf, 5) == 5) ready_ = std::string(buf) == "ready";
}

TokenHolder::~TokenHolder() {
  if (req_ >= 0 && write(req_, "q", 1) < 0) {}
  if (req_ >= 0) close(req_);
  if (resp_ >= 0) close(resp_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

std::string TokenHolder::op(char c) {
  if (write(req_, &c, 1) != 1) return "io";
  char buf[9] = {};
  if (read(resp_, buf, 8) != 8) return "io";
  std::string r(buf);
  return r.substr(0, r.find(' '));
}

namespace {
// A top-level number of `status --json`; -1 when status fails or lacks it.
long status_number(const std::string& key) {
  auto [rc, out] = sh("/bin/tokenwarden status --json");
  std::string quoted = "\"" + key + "\": ";
  auto at = out.find(quoted);
  return rc == 0 && at != std::string::npos ? std::stol(out.substr(at + quoted.size())) : -1;
}
}  // namespace

long tokens_remembered() { return status_number("tokens"); }
long objects_remembered() { return status_number("objects"); }

}  // namespace twvm
