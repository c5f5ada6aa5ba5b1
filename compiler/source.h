// SPDX-License-Identifier: Apache-2.0
// Policy source text and positions in it. Every later stage refers to text through a Span
// (file id + byte offsets); line and column are computed only when a diagnostic is rendered.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace tw::compiler {

inline constexpr uint32_t kNoFile = UINT32_MAX;

struct Span {
  uint32_t file = kNoFile;
  uint32_t begin = 0, end = 0;  // byte offsets, end exclusive
  bool valid() const { return file != kNoFile; }
};
// The span from the start of `a` to the end of `b` (same file).
Span join(Span a, Span b);

struct Location {
  std::string_view path;
  uint32_t line = 0, col = 0;          // 1-based
  uint32_t end_line = 0, end_col = 0;  // 1-based, exclusive column
};

struct SourceFile {
  std::string path;  // as the user named it (relative paths stay relative)
  std::string text;
  std::vector<uint32_t> line_starts;
};

// Owns every file a compilation read (the root policy, its includes, case files). Ids are stable
// and files never move, so string_views into them stay valid for the set's lifetime.
class SourceSet {
 public:
  uint32_t add(std::string path, std::string text);
  const SourceFile& file(uint32_t id) const { return files_.at(id); }
  size_t size() const { return files_.size(); }
  Location locate(Span span) const;
  std::string_view text(Span span) const;
  std::string_view line_text(uint32_t file, uint32_t line) const;  // without the newline
  std::string where(Span span) const;                              // "path:line:col"

 private:
  std::deque<SourceFile> files_;
};

}  // namespace tw::compiler
