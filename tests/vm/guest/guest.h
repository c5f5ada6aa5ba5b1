// SPDX-License-Identifier: Apache-2.0
// What the guest test cases share (tests/vm/guest/*.cpp): case outcomes, expectations, running
// commands, cgroups and delegated user namespaces.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "kernel/bpffs.h"
#include "kernel/fd.h"
#include "kernel/result.h"

namespace twvm {

struct Outcome {
  std::string status;  // PASS, FAIL, SKIP
  std::string detail;
};
inline Outcome pass(std::string d) { return {"PASS", std::move(d)}; }
inline Outcome fail(std::string d) { return {"FAIL", std::move(d)}; }

// Expectations of one case: each mismatch is kept, and the case fails naming all of them.
struct Expectations {
  std::vector<std::string> bad;
  // `log` prints each step to the console as it happens (long cases: where a panic struck).
  bool log = false;
  void operator()(const std::string& what, const std::string& got, const std::string& want);
  void require(bool ok, const std::string& what) {
    if (!ok) bad.push_back(what);
  }
  Outcome result(const std::string& detail) const;
};

std::string read_text(const std::string& path);  // without trailing newlines
std::string read_answer(int fd);                 // everything until EOF; closes fd
std::string outcome_of(const tw::kernel::Result<tw::kernel::UniqueFd>& r);  // "ok" or the errno name

// Runs `body` in a delegated user namespace (kernel/bpffs.h) and returns what it returned there,
// or "setup:<error>".
std::string in_delegated(const tw::kernel::DelegateSpec& spec,
                         const std::function<std::string(tw::kernel::DelegatedMount&)>& body);

std::pair<int, std::string> sh(const std::string& cmd);  // {exit status, stdout and stderr}
bool move_to_cgroup(const std::string& cg);              // "" is the root; made when missing

// How token_session creates its token.
struct TokenSession {
  tw::kernel::DelegationMasks masks;  // what the bpffs delegates
  std::string cgroup;                 // the creator's cgroup, left afterwards; "": stay
  // Run inside the namespace before the token is made (e.g. switching SELinux domain); a
  // non-empty answer is returned instead of going on.
  std::function<std::string()> setup;
};
// Creates a token as `s` says, then runs `ops` with it: "token=<outcome> <what ops return>",
// or "setup:<error>".
std::string token_session(const TokenSession& s, const std::function<std::string(int)>& ops);

// A child that creates a token (as a task in cgroup `cg`) and then performs one operation per
// request until told to stop: how a test keeps a token alive across tokenwarden invocations.
//   'a' array map   'h' hash map   'r' ring buffer   'q' quit
class TokenHolder {
 public:
  explicit TokenHolder(const std::string& cg);
  ~TokenHolder();
  TokenHolder(const TokenHolder&) = delete;
  TokenHolder& operator=(const TokenHolder&) = delete;
  bool ready() const { return ready_; }
  std::string op(char c);

 private:
  pid_t pid_ = -1;
  int req_ = -1, resp_ = -1;
  bool ready_ = false;
};

// token_session with a bpffs delegating map_create for array and hash maps, as a task in `cg`.
std::string token_session(const std::string& cg, const std::function<std::string(int)>& ops);
// A token-backed map of `type` (key 4, value 8 bytes): "ok" or the errno name.
std::string map_outcome(int token_fd, uint32_t type, uint32_t max_entries);
// The number of labelled tokens the kernel remembers, from `tokenwarden status --json`.
long tokens_remembered();
// Maps and programs counted for per-profile limits (`status`'s objects).
long objects_remembered();

// selinux.cpp: SELinux with the test policies and tokenwarden's module.
Outcome selinux_map_create();
Outcome selinux_token_perms();
Outcome selinux_module_delegation();
Outcome selinux_module_legacy();
Outcome selinux_both_backends();
Outcome selinux_pins_protected();

// differential.cpp: the case table run on the reference evaluator and on this kernel.
Outcome differential();
int differential_op(int argc, char** argv);  // `tw-vmtest --diff-op ...`: one case's operations

// robustness.cpp: no writer, however interrupted or raced, leaves the programs failing open.
Outcome robustness();
// Faults on 2 vCPUs: writers racing, events and counters that find no room, injected failures.
Outcome faults();

}  // namespace twvm
