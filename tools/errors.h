// SPDX-License-Identifier: Apache-2.0
// Turns kernel-layer Error values into messages for people: the operation, the errno, and a
// hint about what to do. Only tools/ does this; kernel/ returns plain values.
#pragma once

#include <string>

#include "kernel/result.h"

namespace tw::tools {

std::string hint_for(const kernel::Error& e);
// Printed by report_error (output.h): "tokenwarden: error: <op>: <strerror> (<ERRNO>): detail",
// then "  hint: ...".

}  // namespace tw::tools
