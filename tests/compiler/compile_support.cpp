// SPDX-License-Identifier: Apache-2.0
#include "compile_support.h"

#include <fmt/format.h>

#include <algorithm>

namespace tw::test {

compiler::Compilation compile_files(const std::map<std::string, std::string>& files, const std::string& root,
                                    compiler::TargetKernel target) {
  compiler::CompileOptions o;
  o.target = std::move(target);
  o.read = [files](const std::string& path, std::string& error) -> std::optional<std::string> {
    auto it = files.find(path);
    if (it == files.end()) {
      error = "No such file or directory";
      return std::nullopt;
    }
    return it->second;
  };
  return compiler::compile_policy(root, o);
}

std::vector<std::string> codes_at(const compiler::Compilation& c) {
  std::vector<std::string> out;
  for (const auto& d : c.diags.all()) {
    auto l = c.sources.locate(d.span);
    out.push_back(fmt::format("{}@{}:{}", compiler::code_name(d.code), l.line, l.col));
  }
  return out;
}

bool has_code_at(const compiler::Compilation& c, const std::string& code_at) {
  auto all = codes_at(c);
  return std::find(all.begin(), all.end(), code_at) != all.end();
}

Imported import_sources(const std::vector<std::pair<std::string, std::string>>& files, const Importer& run) {
  Imported r;
  for (const auto& [path, text] : files) r.sources.add(path, text);
  r.policy = run(r.sources, r.diags);
  for (const auto& d : r.diags.all()) {
    auto at = r.sources.locate(d.span);
    r.codes.push_back(fmt::format("{}@{}:{}", compiler::code_name(d.code), at.line, at.col));
  }
  return r;
}

bool has(const Imported& r, const std::string& code_at) {
  return std::find(r.codes.begin(), r.codes.end(), code_at) != r.codes.end();
}

}  // namespace tw::test
