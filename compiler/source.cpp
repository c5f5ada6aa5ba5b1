// SPDX-License-Identifier: Apache-2.0
#include "source.h"

#include <algorithm>

namespace tw::compiler {

Span join(Span a, Span b) {
  if (!a.valid()) return b;
  if (!b.valid() || a.file != b.file) return a;
  return {a.file, std::min(a.begin, b.begin), std::max(a.end, b.end)};
}

uint32_t SourceSet::add(std::string path, std::string text) {
  SourceFile f{std::move(path), std::move(text), {0}};
  for (uint32_t i = 0; i < f.text.size(); ++i)
    if (f.text[i] == '\n') f.line_starts.push_back(i + 1);
  files_.push_back(std::move(f));
  return static_cast<uint32_t>(files_.size() - 1);
}

namespace {
// 1-based line and column of a byte offset.
std::pair<uint32_t, uint32_t> line_col(const SourceFile& f, uint32_t offset) {
  auto it = std::upper_bound(f.line_starts.begin(), f.line_starts.end(), offset);
  auto line = static_cast<uint32_t>(it - f.line_starts.begin());
  return {line, offset - f.line_starts[line - 1] + 1};
}
}  // namespace

Location SourceSet::locate(Span span) const {
  if (!span.valid() || span.file >= files_.size()) return {};
  const SourceFile& f = files_[span.file];
  auto [line, col] = line_col(f, std::min<uint32_t>(span.begin, static_cast<uint32_t>(f.text.size())));
  auto [eline, ecol] = line_col(f, std::min<uint32_t>(std::max(span.end, span.begin), static_cast<uint32_t>(f.text.size())));
  return {f.path, line, col, eline, ecol};
}

std::string_view SourceSet::text(Span span) const {
  if (!span.valid() || span.file >= files_.size()) return {};
  std::string_view t = files_[span.file].text;
  if (span.begin > t.size()) return {};
  return t.substr(span.begin, std::min<size_t>(span.end, t.size()) - span.begin);
}

std::string_view SourceSet::line_text(uint32_t file, uint32_t line) const {
  if (file >= files_.size()) return {};
  const SourceFile& f = files_[file];
  if (line == 0 || line > f.line_starts.size()) return {};
  std::string_view t = f.text;
  size_t begin = f.line_starts[line - 1];
  size_t end = t.find('\n', begin);
  std::string_view s = t.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

std::string SourceSet::where(Span span) const {
  Location l = locate(span);
  if (l.line == 0) return "<unknown>";
  return std::string(l.path) + ":" + std::to_string(l.line) + ":" + std::to_string(l.col);
}

}  // namespace tw::compiler
