// SPDX-License-Identifier: Apache-2.0
#include "result.h"

#include <fmt/format.h>

#include <cstring>

namespace tw::kernel {

std::string errno_name(int err) {
  // strerrorname_np is glibc >= 2.32; it returns null for unknown values.
  if (const char* name = strerrorname_np(err)) return name;
  return std::to_string(err);
}

std::string Error::message() const {
  std::string m = fmt::format("{}: {} ({})", op, std::strerror(err), errno_name(err));
  if (!detail.empty()) m += ": " + detail;
  return m;
}

}  // namespace tw::kernel
