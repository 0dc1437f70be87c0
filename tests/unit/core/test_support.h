// Helpers shared by the core unit tests: temporary directories, files, sources, registries and
// error matchers.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <system_error>

#include "common/test_util.h"
#include "core/buffer_pool.h"
#include "glance_store/backend.h"
#include "glance_store/config.h"
#include "glance_store/error.h"
#include "glance_store/store.h"
#include "glance_store/stream.h"

namespace glance_store {

/// gtest prints kinds by name.
inline void PrintTo(ErrorKind kind, std::ostream* os) { *os << kind_name(kind); }

}  // namespace glance_store

namespace glance_store::testing {

using test_common::CatchError;
using test_common::ListDir;
using test_common::TempDir;

inline void write_file(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

/// A chunk of its own holding a copy of `bytes`, as the add pipeline hands its writer.
inline DataChunk chunk_of(std::span<const std::byte> bytes) {
  auto* buffer =
      new detail::PooledBuffer{new std::byte[std::max<std::size_t>(1, bytes.size())], bytes.size()};
  std::copy(bytes.begin(), bytes.end(), buffer->data);
  return {std::shared_ptr<detail::PooledBuffer>(buffer,
                                                [](detail::PooledBuffer* b) {
                                                  delete[] b->data;
                                                  delete b;
                                                }),
          bytes.size()};
}

inline std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xFF);
  return s;
}

inline std::string as_string(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Serves `data` in reads of at most `max_read` bytes; calls `on_read` before each read, and
/// throws once `fail_at` bytes have been served.
class ScriptedSource final : public InputStream {
 public:
  ScriptedSource(std::string data, std::size_t max_read,
                 std::optional<std::size_t> fail_at = std::nullopt)
      : data_(std::move(data)), max_read_(max_read), fail_at_(fail_at) {}

  std::function<void(std::span<std::byte>)> on_read;

  std::size_t read(std::span<std::byte> out) override {
    if (on_read) on_read(out);
    if (fail_at_ && pos_ >= *fail_at_) {
      throw Error(ErrorKind::kBackendException, "cannot read the image data: broken pipe");
    }
    std::size_t n = std::min({out.size(), max_read_, data_.size() - pos_});
    if (fail_at_) n = std::min(n, *fail_at_ - pos_);
    std::copy_n(data_.data() + pos_, n, reinterpret_cast<char*>(out.data()));
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  std::size_t max_read_;
  std::optional<std::size_t> fail_at_;
  std::size_t pos_ = 0;
};

/// Matches an Error of exactly `kind`.
MATCHER_P(HasKind, kind, std::string("has kind ") + std::string(kind_name(kind))) {
  *result_listener << "whose kind is " << kind_name(arg.kind()) << " and message \""
                   << arg.message() << "\"";
  return arg.kind() == kind;
}

/// A legacy-mode registry (`[glance_store] stores = file`) whose filesystem store writes to
/// `datadir`, with `extra` appended to the [glance_store] section.
inline std::unique_ptr<StoreRegistry> legacy_registry(const std::string& datadir,
                                                      const std::string& extra = "") {
  return StoreRegistry::create(
      ConfigFile::parse("[glance_store]\nstores = file\n"
                        "filesystem_store_datadir = " +
                        datadir + "\n" + extra));
}

/// Adds `data` as image `id` (to `backend`, or the default store); returns the location.
inline std::string add_image(const StoreRegistry& registry, const std::string& id,
                             const std::string& data, const std::string& backend = "") {
  MemoryInputStream in(data);
  return registry.add(id, in, data.size(), "sha256", backend).location;
}

/// The whole image at `uri`.
inline std::string get_image(const StoreRegistry& registry, const std::string& uri,
                             const std::string& backend = "") {
  return read_all(*registry.get(uri, 0, std::nullopt, backend).stream);
}

}  // namespace glance_store::testing
