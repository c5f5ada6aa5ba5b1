// SPDX-License-Identifier: Apache-2.0
// Errors from the kernel layer are values: the operation that failed, the errno, and optional
// detail (a verifier log line, the option string). They are turned into user-facing messages
// with hints only in tools/ (see tools/errors.cpp); nothing in kernel/ prints.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace tw::kernel {

struct Error {
  std::string op;      // "BPF_TOKEN_CREATE", "fsconfig(delegate_cmds)", ...
  int err = 0;         // positive errno
  std::string detail;  // optional context

  std::string message() const;  // "BPF_TOKEN_CREATE: Operation not permitted (EPERM): detail"
};

// Captures errno right after a failed call.
inline Error errno_error(std::string op, std::string detail = {}) {
  return Error{std::move(op), errno, std::move(detail)};
}

// A value or an Error. Small on purpose: C++20 has no std::expected.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace tw::kernel
