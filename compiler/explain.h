// SPDX-License-Identifier: Apache-2.0
// `tokenwarden explain`: what each hook will decide, per profile, in words, and which backend
// enforces which part. Reads only the IR, so it explains policy sources and compiled artifacts
// alike.
#pragma once

#include <string>

#include "ir.h"

namespace tw::compiler {

std::string explain(const Ir& ir);

}  // namespace tw::compiler
