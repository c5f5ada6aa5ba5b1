// SPDX-License-Identifier: Apache-2.0
// A compiled policy as the BPF programs read it: the records of one generation (layouts in
// vocab/tw_abi.h). The compiler's BPF backend produces it; the enforcer installs it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "tw_abi.h"
}

namespace tw::vocab {

struct PolicyTables {
  std::string name;  // the policy's name, for status
  tw_settings settings{};
  std::vector<tw_profile> profiles;
  std::vector<tw_conj> conjs;
  std::vector<std::pair<tw_index_key, tw_index_val>> index;
  std::vector<uint32_t> scan;
  std::vector<std::string> notes;  // warnings: what could not be resolved or represented, or looks wrong
  std::vector<std::string> infos;  // worth knowing, not wrong (a cgroup that does not exist yet)
};

}  // namespace tw::vocab
