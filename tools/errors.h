// SPDX-License-Identifier: Apache-2.0
// Turns kernel-layer Error values into messages for people: the operation, the errno, and a
// hint about what to do. Only tools/ does this; kernel/ returns plain values.
#pragma once

#include <string>

#include "kernel/result.h"

namespace tw::tools {

std::string hint_for(const kernel::Error& e);
// "tokenwarden: error: <op>: <strerror> (<ERRNO>): detail\n  hint: ...\n" on stderr.
void report_error(const kernel::Error& e);

}  // namespace tw::tools
