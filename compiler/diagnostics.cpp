#include "diagnostics.h"

#include "ir_io.h"

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
  if (d.severity == Severity::error) ++errors_;
  items_.push_back(std::move(d));
  return items_.back();
}

bool Diagnostics::has(Code code) const {
  for (const auto& d : items_)
    if (d.code == code) return true;
  return false;
}

namespace {

// The source line and a caret line under [col, end_col) (one caret at least).
void append_snippet(std::string& out, const SourceSet& sources, Span span, const Location& l) {
  std::string_view line = sources.line_text(span.file, l.line);
  std::string number = std::to_string(l.line);
  std::string pad(number.size(), ' ');
  out += fmt::format(" {} |\n {} | {}\n {} | ", pad, number, line, pad);
  for (uint32_t i = 1; i < l.col && i <= line.size(); ++i) out += line[i - 1] == '\t' ? '\t' : ' ';
  uint32_t width = l.end_line == l.line && l.end_col > l.col ? l.end_col - l.col : 1;
  if (l.end_line != l.line) width = static_cast<uint32_t>(line.size() >= l.col ? line.size() - l.col + 1 : 1);
  out += std::string(std::max<uint32_t>(width, 1), '^');
  out += '\n';
}

}  // namespace

std::string render_text(const Diagnostic& d, const SourceSet& sources, bool color) {
  std::string out;
  Location l = sources.locate(d.span);
  const char* on = "";
  const char* off = "";
  if (color) {
    on = d.severity == Severity::error ? "\033[1;31m" : "\033[1;35m";
    off = "\033[0m";
  }
  if (l.line) out += fmt::format("{}:{}:{}: ", l.path, l.line, l.col);
  out += fmt::format("{}{}[{}]{}: {}\n", on, severity_name(d.severity), code_name(d.code), off, d.message);
  if (l.line) append_snippet(out, sources, d.span, l);
  for (const auto& h : d.hints) out += fmt::format("  = hint: {}\n", h);
  for (const auto& n : d.notes) {
    Location nl = sources.locate(n.span);
    if (nl.line) {
      out += fmt::format("{}:{}:{}: note: {}\n", nl.path, nl.line, nl.col, n.message);
      append_snippet(out, sources, n.span, nl);
    } else {
      out += fmt::format("  = note: {}\n", n.message);
    }
  }
  return out;
}

std::string render_json(const std::vector<Diagnostic>& ds, const SourceSet& sources) {
  nlohmann::json arr = nlohmann::json::array();
  auto where = [&](nlohmann::json& j, Span s) {
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
  return dump_json(arr, 2);
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
