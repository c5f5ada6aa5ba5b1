// SPDX-License-Identifier: Apache-2.0
#include "result.h"

#include <fmt/format.h>

#include "vocab/names.h"

#include <cstring>

namespace tw::kernel {

std::string Error::message() const {
  std::string m = fmt::format("{}: {} ({})", op, std::strerror(err), vocab::errno_name(err));
  if (!detail.empty()) m += ": " + detail;
  return m;
}

}  // namespace tw::kernel
