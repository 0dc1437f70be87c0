// Helpers shared by the core unit tests: temporary directories, files and error matchers.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <system_error>

#include "glance_store/error.h"

namespace glance_store {

/// gtest prints kinds by name.
inline void PrintTo(ErrorKind kind, std::ostream* os) { *os << kind_name(kind); }

}  // namespace glance_store

namespace glance_store::testing {

/// A fresh directory under /tmp, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/glance_core_test.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// A path inside the directory (not created).
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

/// Runs `fn`, expecting it to throw glance_store::Error; returns the error (kind kNotFound and
/// message "<nothing thrown>" when it did not throw, so that the caller's checks fail).
inline Error capture_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a glance_store::Error, nothing was thrown";
  return Error(ErrorKind::kDriverLoadFailure, "<nothing thrown>");
}

/// Matches an Error of exactly `kind`.
MATCHER_P(HasKind, kind, std::string("has kind ") + std::string(kind_name(kind))) {
  *result_listener << "whose kind is " << kind_name(arg.kind()) << " and message \""
                   << arg.message() << "\"";
  return arg.kind() == kind;
}

/// Matches an Error whose message satisfies `inner`.
MATCHER_P(HasMessage, inner, "") {
  return ::testing::ExplainMatchResult(inner, arg.message(), result_listener);
}

}  // namespace glance_store::testing
