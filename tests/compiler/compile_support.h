// SPDX-License-Identifier: Apache-2.0
// Compiling policies held in memory for the compiler's unit tests.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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

// What an importer (`import systemd`, `import incus`) made of files held in memory: its policy
// text, nullopt on errors, and "W121@5:24" for each diagnostic.
struct Imported {
  compiler::SourceSet sources;
  compiler::Diagnostics diags;
  std::optional<std::string> policy;
  std::vector<std::string> codes;
};
using Importer = std::function<std::optional<std::string>(const compiler::SourceSet&, compiler::Diagnostics&)>;
Imported import_sources(const std::vector<std::pair<std::string, std::string>>& files, const Importer& run);
bool has(const Imported& r, const std::string& code_at);

}  // namespace tw::test
