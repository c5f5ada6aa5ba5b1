// SPDX-License-Identifier: Apache-2.0
// Diagnostics are values: a stable code, a severity, a span, a message, hints and related notes.
// Stages append them to a sink and never print; tools/ renders them once, as text
// (`file:line:col: error[E013]: ...` with the source line and a caret) or as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "source.h"

namespace tw::compiler {

enum class Severity { error, warning, note };

enum class Code {
#define TW_DIAG(code, severity, slug) code,
#include "diagnostics.def"
#undef TW_DIAG
};

std::string_view code_name(Code c);  // "E013"
std::string_view code_slug(Code c);  // "duplicate-profile"
Severity code_severity(Code c);
std::vector<Code> all_codes();

struct RelatedNote {
  Span span;
  std::string message;
};

struct Diagnostic {
  Code code{};
  Severity severity = Severity::error;
  Span span;
  std::string message;
  std::vector<std::string> hints;
  std::vector<RelatedNote> notes;

  Diagnostic& hint(std::string h) {
    hints.push_back(std::move(h));
    return *this;
  }
  Diagnostic& note(Span s, std::string m) {
    notes.push_back({s, std::move(m)});
    return *this;
  }
};

class Diagnostics {
 public:
  // The returned reference is valid until the next report().
  Diagnostic& report(Code code, Span span, std::string message);
  const std::vector<Diagnostic>& all() const { return items_; }  // the ones kept (see limit)
  size_t error_count() const { return errors_; }                  // all of them, kept or not
  size_t warning_count() const { return warnings_; }
  bool has_errors() const { return errors_ > 0; }
  bool has(Code code) const;
  // Keep at most `n` errors and `n` warnings (0: all); the others are only counted, so that a
  // hostile input cannot make the output, or the memory, grow with it.
  void set_limit(size_t n) { limit_ = n; }
  size_t not_kept() const { return errors_ + warnings_ - items_.size(); }

 private:
  std::vector<Diagnostic> items_;
  Diagnostic discarded_;  // what report() returns for one that is not kept
  size_t errors_ = 0, warnings_ = 0, kept_errors_ = 0;
  size_t limit_ = 0;
};

// Renders like a compiler: "path:line:col: error[E013]: message", the source line, a caret
// under the span, then "  = hint: ..." and notes with their own locations. Non-printable bytes
// of the source and of messages are shown escaped (`\x1b`), never sent to the terminal; a long
// line is shown as a window around the caret.
std::string render_text(const Diagnostic& d, const SourceSet& sources, bool color = false);
// [{"code","slug","severity","message","file","line","col","end_line","end_col","hints","notes"}],
// every key present (null where a diagnostic has no place); notes have the place keys too.
nlohmann::json diagnostics_json(const std::vector<Diagnostic>& ds, const SourceSet& sources);
std::string render_json(const std::vector<Diagnostic>& ds, const SourceSet& sources);
// "N errors, M warnings" (singular forms where they fit).
std::string summary(const Diagnostics& ds);
// "12 more errors and 3 more warnings not shown (--error-limit)", or "" when all were kept.
std::string not_shown(const Diagnostics& ds);
// `s` with every byte that is not printable ASCII (nor part of a printable UTF-8 character)
// written as \xNN; tabs are kept when `keep_tabs`.
std::string escape_text(std::string_view s, bool keep_tabs = false);

// Spelling helpers shared by stages: "did you mean `x`, `y`?" or "".
std::string did_you_mean(const std::vector<std::string>& candidates);

}  // namespace tw::compiler
