// SPDX-License-Identifier: Apache-2.0
#include "loader.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "lexer.h"
#include "parser.h"

namespace tw::compiler {

namespace {
// The descriptor a reader opened, closed on every return.
struct OpenFile {
  int fd;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

FileReader filesystem_reader(size_t max_bytes) {
  return [max_bytes](const std::string& path, std::string& error) -> std::optional<FileContents> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then tells what it is.
    OpenFile file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
    int fd = file.fd;
    if (fd < 0) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
      error = S_ISDIR(st.st_mode)    ? "is a directory"
              : S_ISFIFO(st.st_mode) ? "is a FIFO, not a regular file"
              : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "is a device, not a regular file"
                                                           : "is not a regular file";
      return std::nullopt;
    }
    auto too_big = [&](uint64_t size) {
      error = fmt::format("is {} bytes; files are read up to {} bytes (--max-file-size)", size, max_bytes);
      return std::nullopt;
    };
    if (static_cast<uint64_t>(st.st_size) > max_bytes) return too_big(static_cast<uint64_t>(st.st_size));
    std::string text;
    text.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    for (;;) {  // the file may grow or shrink while it is read: stop one byte past the limit
      if (got == text.size()) text.resize(std::min(max_bytes + 1, std::max<size_t>(text.size() * 2, 4096)));
      ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = std::strerror(errno);
        return std::nullopt;
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
      if (got > max_bytes) return too_big(got);
    }
    text.resize(got);
    return FileContents(std::move(text), fmt::format("{}:{}", st.st_dev, st.st_ino));
  };
}

namespace {

constexpr size_t kMaxIncludeDepth = 32;
// All files of one policy together: each is read once, so this bounds the memory of any include
// graph (every file at the per-file limit would be far more).
constexpr size_t kMaxTotalBytes = 256u << 20;

class Loader {
 public:
  Loader(SourceSet& sources, Diagnostics& diags, const FileReader& read)
      : sources_(sources), diags_(diags), read_(read) {}

  void file(const std::string& path, Span included_at, std::vector<Stmt>& out) {
    if (stack_.size() >= kMaxIncludeDepth) {
      diags_.report(Code::E016, included_at, fmt::format("includes are nested more than {} deep", kMaxIncludeDepth));
      return;
    }
    std::string error;
    auto contents = read_(path, error);
    if (!contents) {
      auto& d = diags_.report(Code::E015, included_at, fmt::format("cannot read `{}`: {}", path, error));
      if (included_at.valid()) d.hint("include paths are relative to the including file");
      return;
    }
    // A file is what it is on disk (device and inode), not how a path spells it: directories
    // linked to `.` give endless distinct paths to one file.
    std::string key = !contents->identity.empty() ? contents->identity
                                                  : std::filesystem::path(path).lexically_normal().string();
    auto on_stack = std::find_if(stack_.begin(), stack_.end(), [&](const auto& f) { return f.first == key; });
    if (on_stack != stack_.end()) {
      auto& d = diags_.report(Code::E016, included_at, fmt::format("`{}` includes itself", path));
      for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) d.hint("through " + it->second);
      return;
    }
    if (!seen_.insert(key).second) return;  // included before: once is enough
    if (total_ + contents->text.size() > kMaxTotalBytes) {
      diags_.report(Code::E015, included_at,
                    fmt::format("`{}`: the policy and its includes exceed {} bytes in all", path, kMaxTotalBytes));
      return;
    }
    total_ += contents->text.size();
    uint32_t id = sources_.add(path, std::move(contents->text));
    auto stmts = parse(sources_, id, diags_);
    stack_.push_back({key, path});
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
  std::vector<std::pair<std::string, std::string>> stack_;  // {identity, path} of each open include
  std::set<std::string> seen_;
  size_t total_ = 0;
};

}  // namespace

std::vector<Stmt> load_policy(const std::string& path, SourceSet& sources, Diagnostics& diags,
                              const FileReader& read) {
  std::vector<Stmt> out;
  Loader(sources, diags, read).file(path, Span{}, out);
  return out;
}

}  // namespace tw::compiler
