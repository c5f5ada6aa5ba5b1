#include "loader.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "lexer.h"
#include "parser.h"

namespace tw::compiler {

FileReader filesystem_reader() {
  return [](const std::string& path, std::string& error) -> std::optional<std::string> {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      error = "is a directory";
      return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
}

namespace {

constexpr size_t kMaxIncludeDepth = 32;

class Loader {
 public:
  Loader(SourceSet& sources, Diagnostics& diags, const FileReader& read)
      : sources_(sources), diags_(diags), read_(read) {}

  void file(const std::string& path, Span included_at, std::vector<Stmt>& out) {
    std::string key = std::filesystem::path(path).lexically_normal().string();
    if (std::find(stack_.begin(), stack_.end(), key) != stack_.end()) {
      auto& d = diags_.report(Code::E016, included_at, fmt::format("`{}` includes itself", path));
      for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) d.hint("through " + *it);
      return;
    }
    if (!seen_.insert(key).second) return;  // included before: once is enough
    if (stack_.size() >= kMaxIncludeDepth) {
      diags_.report(Code::E016, included_at, fmt::format("includes are nested more than {} deep", kMaxIncludeDepth));
      return;
    }
    std::string error;
    auto text = read_(path, error);
    if (!text) {
      auto& d = diags_.report(Code::E015, included_at, fmt::format("cannot read `{}`: {}", path, error));
      if (included_at.valid()) d.hint("include paths are relative to the including file");
      return;
    }
    uint32_t id = sources_.add(path, std::move(*text));
    auto stmts = parse(sources_, id, diags_);
    stack_.push_back(key);
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    for (auto& s : stmts) {
      s.file = id;
      if (s.kind == Stmt::Kind::include && s.path) {
        std::filesystem::path p = s.path->value;
        file(p.is_absolute() ? p.string() : (dir / p).string(), s.path->span, out);
        continue;
      }
      out.push_back(std::move(s));
    }
    stack_.pop_back();
  }

 private:
  SourceSet& sources_;
  Diagnostics& diags_;
  const FileReader& read_;
  std::vector<std::string> stack_;
  std::set<std::string> seen_;
};

}  // namespace

std::vector<Stmt> load_policy(const std::string& path, SourceSet& sources, Diagnostics& diags,
                              const FileReader& read) {
  std::vector<Stmt> out;
  Loader(sources, diags, read).file(path, Span{}, out);
  return out;
}

}  // namespace tw::compiler
