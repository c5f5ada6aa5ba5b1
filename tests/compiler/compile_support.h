// SPDX-License-Identifier: Apache-2.0
// Compiling policies held in memory for the compiler's unit tests.
#pragma once

#include <map>
#include <string>

#include "compiler/pipeline.h"

namespace tw::test {

// Compiles files[root] with `files` as the only file system.
compiler::Compilation compile_files(const std::map<std::string, std::string>& files, const std::string& root = "p.tw",
                                    compiler::TargetKernel target = {});
inline compiler::Compilation compile_text(const std::string& text, compiler::TargetKernel target = {}) {
  return compile_files({{"p.tw", text}}, "p.tw", std::move(target));
}

// "E013@3:9" for each diagnostic, in order.
std::vector<std::string> codes_at(const compiler::Compilation& c);
bool has_code_at(const compiler::Compilation& c, const std::string& code_at);

}  // namespace tw::test
