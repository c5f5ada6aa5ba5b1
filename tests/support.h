// SPDX-License-Identifier: Apache-2.0
// Test support: skipping with a reason (ctest shows SKIPPED via exit code 77, except in CI where
// a test that cannot run is a failure), and running a body inside a delegated user namespace
// while collecting its observations as key=value lines.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <string>

#include "kernel/bpffs.h"
#include "vocab/names.h"

namespace tw::test {

inline constexpr int kSkipExitCode = 77;

// Ends the test run as skipped (or failed under CI=true) when `needed` is false.
void require(bool needed, const std::string& reason);
void require_root();

struct Observations {
  int status = -1;                           // child's exit status
  std::map<std::string, std::string> values;  // what the body recorded
  std::string get(const std::string& k) const {
    auto it = values.find(k);
    return it == values.end() ? "<missing>" : it->second;
  }
};

using Record = std::function<void(const std::string& key, const std::string& value)>;

// Runs body in a delegated user namespace, or returns the setup Error (e.g. fsconfig's EINVAL).
kernel::Result<Observations> try_in_delegated_userns(
    const kernel::DelegateSpec& spec,
    const std::function<void(kernel::DelegatedMount&, const Record&)>& body);

// Same, but a setup error fails the test with its message.
Observations in_delegated_userns(const kernel::DelegateSpec& spec,
                                 const std::function<void(kernel::DelegatedMount&, const Record&)>& body);

// The errno name of a Result, or "ok".
template <class R>
std::string outcome(const R& r) {
  return r ? std::string("ok") : vocab::errno_name(r.error().err);
}

// Runs a shell command, returns {exit status, stdout}.
std::pair<int, std::string> run_command(const std::string& cmd);

}  // namespace tw::test
