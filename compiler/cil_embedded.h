// SPDX-License-Identifier: Apache-2.0
// selinux-module/'s minimal base policy and delegation interfaces, built into the compiler (from
// cil_embedded.cpp.in at configure time) so that check_cil() needs no files at run time.
#pragma once

namespace tw::compiler::embedded {
extern const char kCheckBase[];
extern const char kCheckBpfToken[];
extern const char kDelegationToken[];
}  // namespace tw::compiler::embedded
