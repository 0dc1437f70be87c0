// The conformance suite's view of a store: one Backend per configured server, built through
// the public API (glance-api.conf text), with what the suite needs to look behind the store.
// The suites (read_conformance_test.cc, write_conformance_test.cc, fault_conformance_test.cc)
// run the same cases against every Backend that can take them.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/server_test_util.h"
#include "glance_store/backend.h"
#include "glance_store/config.h"
#include "glance_store/error.h"
#include "glance_store/stream.h"

namespace glance_store::conformance {

using test_common::bytes_of;
using test_common::CatchError;

/// One configured store and the means to look behind it.
class Backend {
 public:
  virtual ~Backend() = default;

  /// The registry the cases use: one store, the default one.
  virtual StoreRegistry& registry() = 0;
  /// The size of one part (S3), segment (Swift), object (RBD) or pipeline buffer (filesystem,
  /// HTTP): the sizes the cases pick sit at its edges. Kept small so that images of several
  /// parts stay a few MiB.
  virtual std::uint64_t part_size() const = 0;
  /// Puts `data` in the store under `id` and returns its location: an add, or for a read-only
  /// store a file the fixture writes into the server's document root.
  virtual std::string place(const std::string& id, const std::string& data) = 0;
  /// A location of this store that names `id`, whether or not the store holds it.
  virtual std::string location_of(const std::string& id) = 0;
  /// What the store holds for `id` besides a committed image of that id: temporary files, S3
  /// objects and multipart uploads in progress, Swift objects and segments that no manifest of
  /// `id` names, RBD images. Empty after a clean add, delete or failed add.
  virtual std::vector<std::string> leftovers(const std::string& id) = 0;

  /// The server the fault proxy goes in front of ("" when the store has no network between it
  /// and its data: the filesystem, and RBD whose librados does not go through a proxy).
  virtual std::string fault_upstream() const { return ""; }
  /// A registry whose requests go to `base` (the fault proxy) instead of the server, with
  /// `extra` configuration lines (e.g. shorter timeouts).
  virtual std::unique_ptr<StoreRegistry> registry_via(const std::string& base,
                                                      const std::string& extra);
  /// Places `data` under `id` so that `via` (from registry_via(base)) reads it through `base`.
  virtual std::string place_via(StoreRegistry& via, const std::string& base, const std::string& id,
                                const std::string& data);
};

/// Adds `data` under `id` to the default store of `registry`, declaring `declared` bytes.
AddResult add_to(StoreRegistry& registry, const std::string& id, const std::string& data,
                 std::uint64_t declared);

/// A backend of the suite: its name (the test name's suffix) and how to make it.
struct BackendKind {
  std::string name;
  std::function<std::unique_ptr<Backend>()> make;
};

inline void PrintTo(const BackendKind& kind, std::ostream* os) { *os << kind.name; }

/// Every backend this build has: fs, s3api, rgw, swift_tempauth, swift_keystone, http and, with
/// GLANCE_STORE_WITH_RBD, rbd.
std::vector<BackendKind> all_backends();
/// Those that take adds (all but http).
std::vector<BackendKind> writable_backends();
/// Those with a network between the store and its data that the fault proxy can cut: s3api,
/// rgw, swift_tempauth, http.
std::vector<BackendKind> fault_backends();
/// Those of them that take adds: s3api, rgw, swift_tempauth.
std::vector<BackendKind> writable_fault_backends();

/// The fixture of every suite: a fresh Backend per test, and the images it placed removed
/// afterwards, whatever the test did.
class ConformanceTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Backend& backend() { return *backend_; }
  StoreRegistry& registry() { return backend_->registry(); }
  std::uint64_t part() const { return backend_->part_size(); }
  /// A fresh image id, remembered for clean-up.
  std::string new_id(const std::string& what);
  /// Places `data` under a fresh id; returns its location.
  std::string place(const std::string& what, const std::string& data);
  /// The whole stream of a get, checking that the get announced as many bytes as it gave.
  std::string read(const std::string& location, std::uint64_t offset = 0,
                   std::optional<std::uint64_t> length = std::nullopt);

 private:
  std::unique_ptr<Backend> backend_;
  std::vector<std::string> ids_;
};

/// The test name suffix of a backend.
inline std::string backend_name(const ::testing::TestParamInfo<BackendKind>& info) {
  return info.param.name;
}

}  // namespace glance_store::conformance
