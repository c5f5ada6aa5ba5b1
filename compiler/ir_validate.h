// SPDX-License-Identifier: Apache-2.0
// The checker's rules, applied to an IR that did not come from the checker: a compiled artifact
// read back from disk. Its checksum only proves that nobody changed it by accident; a file
// re-sealed by hand must still say only what a policy can say (an errno the programs return, a
// limit that limits, absolute paths, one profile per identity, ...) before anything enforces it.
#pragma once

#include <vector>

#include "ir.h"
#include "ir_io.h"

namespace tw::compiler {

// One problem per offence, on the payload line that holds it (1: the settings, 2 + N: profile N).
std::vector<IrProblem> validate_ir(const Ir& ir);

}  // namespace tw::compiler
