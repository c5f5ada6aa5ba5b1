// SPDX-License-Identifier: Apache-2.0
#include "diagnostics.h"

#include "ir_io.h"
#include "json_text.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tw::compiler {
namespace {

struct CodeInfo {
  std::string_view name, slug;
  Severity severity;
};
constexpr CodeInfo kCodes[] = {
#define TW_DIAG(code, severity, slug) {#code, #slug, Severity::severity},
#include "diagnostics.def"
#undef TW_DIAG
};
const CodeInfo& info(Code c) { return kCodes[static_cast<size_t>(c)]; }

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::note: return "note";
  }
  return "error";
}

}  // namespace

std::string_view code_name(Code c) { return info(c).name; }
std::string_view code_slug(Code c) { return info(c).slug; }
Severity code_severity(Code c) { return info(c).severity; }
std::vector<Code> all_codes() {
  std::vector<Code> out;
  for (size_t i = 0; i < std::size(kCodes); ++i) out.push_back(static_cast<Code>(i));
  return out;
}

Diagnostic& Diagnostics::report(Code code, Span span, std::string message) {
  Diagnostic d;
  d.code = code;
  d.severity = code_severity(code);
  d.span = span;
  d.message = std::move(message);
  bool error = d.severity == Severity::error;
  size_t& count = error ? errors_ : warnings_;
  size_t kept = error ? kept_errors_ : items_.size() - kept_errors_;
  ++count;
  if (limit_ && kept >= limit_) {
    discarded_ = std::move(d);
    return discarded_;
  }
  if (error) ++kept_errors_;
  items_.push_back(std::move(d));
  return items_.back();
}

bool Diagnostics::has(Code code) const {
  for (const auto& d : items_)
    if (d.code == code) return true;
  return false;
}

namespace {

// The length of a printable UTF-8 character at `s` (2 to 4 bytes), or 0: an invalid sequence,
// or a C1 control character (U+0080..U+009F), which terminals obey like ESC.
size_t printable_utf8(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  size_t n = b(0) >= 0xF0 && b(0) <= 0xF4 ? 4 : b(0) >= 0xE0 ? 3 : b(0) >= 0xC2 && b(0) < 0xE0 ? 2 : 0;
  if (!n || s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i)
    if ((b(i) & 0xC0) != 0x80) return 0;
  if (n == 2 && b(0) == 0xC2 && b(1) < 0xA0) return 0;
  return n;
}

// How the character at s[i] is shown: itself when printable (ASCII, a newline, a tab when
// `keep_tabs`, a printable UTF-8 character), else `\xNN`; the bytes it takes and the columns
// it shows as.
struct Shown {
  std::string text;
  size_t bytes = 1, columns = 1;
};
Shown shown_at(std::string_view s, size_t i, bool keep_tabs) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if ((c >= 0x20 && c < 0x7f) || c == '\n' || (keep_tabs && c == '\t')) return {std::string(1, static_cast<char>(c)), 1, 1};
  if (size_t n = c >= 0x80 ? printable_utf8(s.substr(i)) : 0) return {std::string(s.substr(i, n)), n, 1};
  std::string escaped = fmt::format("\\x{:02x}", c);
  return {escaped, 1, escaped.size()};
}

// How many columns of a snippet are shown at most; a longer line is a window around the caret.
constexpr size_t kSnippetWidth = 120;

// The source line and a caret line under [col, end_col) (one caret at least), escaped and cut
// to a window around the caret.
void append_snippet(std::string& out, const SourceSet& sources, Span span, const Location& l) {
  std::string_view line = sources.line_text(span.file, l.line);
  size_t col = std::min<size_t>(l.col ? l.col - 1 : 0, line.size());
  size_t width = l.end_line == l.line && l.end_col > l.col ? l.end_col - l.col : 1;
  if (l.end_line != l.line) width = line.size() > col ? line.size() - col : 1;
  // The window: from a little before the caret, at most kSnippetWidth bytes of source.
  size_t from = line.size() > kSnippetWidth && col > kSnippetWidth / 3 ? col - kSnippetWidth / 3 : 0;
  size_t to = std::min(line.size(), from + kSnippetWidth);
  width = std::max<size_t>(1, std::min(width, to > col ? to - col : 1));
  std::string shown = from ? "..." : "";
  std::string caret(shown.size(), ' ');
  for (size_t i = from; i < to;) {
    Shown piece = shown_at(line, i, true);
    char mark = i >= col && i < col + width ? '^' : line[i] == '\t' ? '\t' : ' ';
    if (i < col + width) caret += std::string(piece.columns, mark);
    shown += piece.text;
    i += piece.bytes;
  }
  if (to < line.size()) shown += "...";
  if (col >= to) caret += '^';
  std::string number = std::to_string(l.line);
  std::string pad(number.size(), ' ');
  out += fmt::format(" {} |\n {} | {}\n {} | {}\n", pad, number, shown, pad, caret);
}

}  // namespace

std::string escape_text(std::string_view s, bool keep_tabs) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    Shown piece = shown_at(s, i, keep_tabs);
    out += piece.text;
    i += piece.bytes;
  }
  return out;
}

std::string not_shown(const Diagnostics& ds) {
  size_t errors = 0, warnings = 0;
  for (const auto& d : ds.all()) (d.severity == Severity::error ? errors : warnings)++;
  errors = ds.error_count() - errors;
  warnings = ds.warning_count() - warnings;
  if (!errors && !warnings) return "";
  std::string what;
  if (errors) what = fmt::format("{} more error{}", errors, errors == 1 ? "" : "s");
  if (warnings) what += fmt::format("{}{} more warning{}", what.empty() ? "" : " and ", warnings, warnings == 1 ? "" : "s");
  return what + " not shown (--error-limit)";
}

std::string render_text(const Diagnostic& d, const SourceSet& sources, bool color) {
  std::string out;
  Location l = sources.locate(d.span);
  const char* on = "";
  const char* off = "";
  if (color) {
    on = d.severity == Severity::error ? "\033[1;31m" : "\033[1;35m";
    off = "\033[0m";
  }
  if (l.line) out += fmt::format("{}:{}:{}: ", escape_text(l.path), l.line, l.col);
  out += fmt::format("{}{}[{}]{}: {}\n", on, severity_name(d.severity), code_name(d.code), off, escape_text(d.message));
  if (l.line) append_snippet(out, sources, d.span, l);
  for (const auto& h : d.hints) out += fmt::format("  = hint: {}\n", escape_text(h));
  for (const auto& n : d.notes) {
    Location nl = sources.locate(n.span);
    if (nl.line) {
      out += fmt::format("{}:{}:{}: note: {}\n", escape_text(nl.path), nl.line, nl.col, escape_text(n.message));
      append_snippet(out, sources, n.span, nl);
    } else {
      out += fmt::format("  = note: {}\n", escape_text(n.message));
    }
  }
  return out;
}

nlohmann::json diagnostics_json(const std::vector<Diagnostic>& ds, const SourceSet& sources) {
  nlohmann::json arr = nlohmann::json::array();
  // Every key is present: a diagnostic without a place (a target-kernel error) has nulls.
  auto where = [&](nlohmann::json& j, Span s) {
    for (const char* k : {"file", "line", "col", "end_line", "end_col"}) j[k] = nullptr;
    Location l = sources.locate(s);
    if (!l.line) return;
    j["file"] = std::string(l.path);
    j["line"] = l.line;
    j["col"] = l.col;
    j["end_line"] = l.end_line;
    j["end_col"] = l.end_col;
  };
  for (const auto& d : ds) {
    nlohmann::json j = {{"code", code_name(d.code)},
                        {"slug", code_slug(d.code)},
                        {"severity", severity_name(d.severity)},
                        {"message", d.message},
                        {"hints", d.hints}};
    where(j, d.span);
    j["notes"] = nlohmann::json::array();
    for (const auto& n : d.notes) {
      nlohmann::json jn = {{"message", n.message}};
      where(jn, n.span);
      j["notes"].push_back(jn);
    }
    arr.push_back(std::move(j));
  }
  return arr;
}

std::string render_json(const std::vector<Diagnostic>& ds, const SourceSet& sources) {
  return dump_json(diagnostics_json(ds, sources), 2);
}

std::string summary(const Diagnostics& ds) {
  auto plural = [](size_t n, std::string_view word) {
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
  };
  return plural(ds.error_count(), "error") + ", " + plural(ds.warning_count(), "warning");
}

std::string did_you_mean(const std::vector<std::string>& candidates) {
  if (candidates.empty()) return {};
  std::string s = "did you mean ";
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i) s += i + 1 == candidates.size() ? " or " : ", ";
    s += "`" + candidates[i] + "`";
  }
  return s + "?";
}

}  // namespace tw::compiler
