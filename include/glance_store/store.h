// The store interface every driver implements, and the add pipeline's data chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "glance_store/capabilities.h"
#include "glance_store/config.h"
#include "glance_store/context.h"
#include "glance_store/location.h"
#include "glance_store/stream.h"

namespace glance_store {

namespace detail {
struct PooledBuffer;
}

/// A filled buffer of the add pipeline. Copies share the memory; the buffer goes back to the
/// pool when the last copy is gone, so a driver may keep one (e.g. for a parallel part upload)
/// and the pipeline's memory bound still holds.
class DataChunk {
 public:
  DataChunk(std::shared_ptr<detail::PooledBuffer> buffer, std::size_t size);
  std::span<const std::byte> bytes() const;
  /// `size` bytes from `offset` of this chunk, sharing its buffer (a part that ends inside it).
  DataChunk slice(std::size_t offset, std::size_t size) const;

 private:
  std::shared_ptr<detail::PooledBuffer> buffer_;
  std::size_t offset_ = 0;
  std::size_t size_;
};

/// Where an add's bytes go: one per add, created by the driver. The pipeline calls write() with
/// each chunk in order, then commit() once, or abort() on any failure.
class ImageWriter {
 public:
  virtual ~ImageWriter() = default;
  virtual void write(const DataChunk& chunk) = 0;
  struct Committed {
    std::string location;
    nlohmann::json metadata = nlohmann::json::object();
  };
  /// Makes the image visible and durable; throws Error (Duplicate, StorageFull, …).
  /// `md5_hex` is the md5 of every byte written, for stores that check what the server got.
  virtual Committed commit(std::uint64_t total_bytes, std::string_view md5_hex) = 0;
  /// Removes everything the add left behind; never throws.
  virtual void abort() noexcept = 0;
  /// How many bytes of the pipeline's chunks this writer may keep after write() returns (the
  /// parts it uploads in parallel); the pipeline's pool grows by as much, so that the add's
  /// memory stays within its limit. 0: chunks are done with when write() returns.
  virtual std::uint64_t held_bytes() const { return 0; }
};

/// Called with every byte of an add exactly once, in order (glance_store's verifier.update).
/// Throwing from it fails the add.
using Verifier = std::function<void(std::span<const std::byte>)>;

/// Digests an add must arrive at. They are compared after the last byte and before the store
/// commits the image (before the rename, the multipart completion or the manifest), so a
/// mismatch fails the add with ChecksumMismatch and nothing becomes visible.
struct ExpectedDigests {
  std::string md5;        ///< lowercase or uppercase hex; empty: not checked
  std::string multihash;  ///< hex digest of the add's hashing algorithm; empty: not checked
};

/// What add() returns (glance_store's 5-tuple).
struct AddResult {
  std::string location;
  std::uint64_t bytes_written = 0;
  std::string checksum;   ///< md5, lowercase hex
  std::string multihash;  ///< the requested algorithm, lowercase hex
  std::string hash_algo;
  nlohmann::json metadata = nlohmann::json::object();
};

/// Something an interrupted add left in a store: invisible to reads, but stored (and paid for).
struct Leftover {
  std::string kind;      ///< "temporary file", "multipart upload", "segments", "rbd image"
  std::string name;      ///< the path, key, segment prefix or image name
  std::string image_id;  ///< the id the add was for
  std::int64_t age_seconds = 0;
  std::string detail;  ///< what removing it needs besides the name (an S3 upload id); may be empty
};

/// Memory bounds of an add: the pipeline reads into buffer_count buffers of buffer_size bytes,
/// and everything the add holds (those buffers and the parts of a multipart or segmented
/// upload, which keep the pipeline's buffers rather than copies) stays within memory_limit.
struct PipelineOptions {
  std::size_t buffer_size = 1 << 20;
  std::size_t buffer_count = 8;
  /// 96 MiB: with the process's own ≈ 30 MiB and libcurl's buffers, a tool adding to S3 with
  /// ten threads stays near 150 MiB of RSS.
  std::uint64_t memory_limit = std::uint64_t{96} << 20;
  /// What the parts of one add may hold: memory_limit less the pipeline's own buffers.
  std::uint64_t part_memory() const {
    const std::uint64_t own = std::uint64_t{buffer_size} * buffer_count;
    return memory_limit > own ? memory_limit - own : 0;
  }
  /// Whether a part of `part_size` bytes fits in part_memory() (with the two pipeline buffers
  /// its first and last bytes may share with its neighbours).
  bool part_fits(std::uint64_t part_size) const {
    return part_size + 2 * std::uint64_t{buffer_size} <= part_memory();
  }
};

/// A configured store of one type (glance_store's driver.Store). Operations check the
/// store's capabilities first and fail with StoreGetNotSupported, StoreRandomGetNotSupported,
/// StoreAddDisabled or StoreDeleteNotSupported.
class Store {
 public:
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// The store type: "file", "s3", "swift", "http".
  virtual std::string_view type() const = 0;
  /// The name glance_store uses in BadStoreConfiguration messages ("filesystem", "s3", …).
  virtual std::string_view config_name() const = 0;
  /// The schemes this store serves (first is the one it writes).
  const std::vector<std::string>& schemes() const;
  /// The backend id in multi-store mode; empty in legacy mode.
  const std::string& backend_id() const { return backend_id_; }

  CapabilitySet& capabilities() { return capabilities_; }
  const CapabilitySet& capabilities() const { return capabilities_; }
  /// Whether add is possible; when not, add_disabled_reason() says why.
  bool add_enabled() const { return capabilities_.is_capable(Capability::kWriteAccess); }
  const std::string& add_disabled_reason() const { return add_disabled_reason_; }

  /// Reads the options and prepares the store for adds. A BadStoreConfiguration from the add
  /// configuration removes WRITE_ACCESS (the store stays readable) and is rethrown only with
  /// `rethrow`; a later successful configure gives it back. Errors in the values themselves (a
  /// bad integer) are always thrown. Not to be called while other operations run.
  void configure(bool rethrow = false);

  /// Parses a URI of one of this store's schemes. Throws BadStoreUri.
  virtual std::unique_ptr<StoreLocation> parse_location(std::string_view uri) const = 0;

  /// Streams an image, or `length` bytes of it from `offset`. Throws NotFound, Forbidden, …
  /// `context` is the requesting user's (multi-tenant Swift needs it; others ignore it).
  GetResult get(const StoreLocation& location, std::uint64_t offset = 0,
                std::optional<std::uint64_t> length = std::nullopt,
                const RequestContext* context = nullptr);
  /// The size of an image in bytes. Throws NotFound, …
  std::uint64_t get_size(const StoreLocation& location, const RequestContext* context = nullptr);
  /// Deletes an image. Throws NotFound, Forbidden, StoreDeleteNotSupported, …
  void remove(const StoreLocation& location, const RequestContext* context = nullptr);
  /// Stores an image read once from `data`. `size` 0 means unknown; otherwise more or less
  /// data than declared fails with Invalid and leaves nothing behind. The hashing algorithm is
  /// checked before a byte is read (UnknownHashingAlgo). With `expected`, the digests are
  /// checked before the image is committed (ChecksumMismatch).
  AddResult add(std::string_view image_id, InputStream& data, std::uint64_t size,
                std::string_view hashing_algo = "sha512", const Verifier* verifier = nullptr,
                const RequestContext* context = nullptr, const ExpectedDigests* expected = nullptr);
  /// Grants access to tenants; a no-op for stores without ACLs.
  virtual void set_acls(const StoreLocation& location, bool is_public,
                        const std::vector<std::string>& read_tenants,
                        const std::vector<std::string>& write_tenants,
                        const RequestContext* context = nullptr);
  /// The prefix of the locations this store writes (multi-store's url_prefix).
  virtual std::string url_prefix() const = 0;
  /// The local directories the store keeps its images in, as configured (a filesystem store's
  /// datadirs; none for a remote store): a caller writing files elsewhere keeps out of them.
  virtual std::vector<std::string> local_directories() const { return {}; }
  /// The leftovers of interrupted adds at least `min_age_seconds` old. A live add's are never
  /// listed where the store can tell (see each store's page); elsewhere age is what protects
  /// them. Throws when the store cannot be listed (e.g. a backend that is down); a store that
  /// keeps no leftovers (HTTP) lists none.
  virtual std::vector<Leftover> find_leftovers(std::int64_t min_age_seconds);
  /// Removes one leftover find_leftovers listed; one already gone is not an error. Throws on a
  /// failure (InUseByStore: still in use, e.g. an RBD image whose dead writer's watch has not
  /// timed out yet).
  virtual void remove_leftover(const Leftover& leftover);
  /// Why find_leftovers cannot look at everything this store writes to ("" when it can): e.g.
  /// multi-tenant Swift, whose images are in each user's own account.
  virtual std::string leftovers_out_of_reach() const { return ""; }

  /// The store's `weight` option (multi-store), 0 otherwise.
  std::int64_t weight() const { return weight_; }
  const std::optional<std::string>& description() const { return description_; }
  const PipelineOptions& pipeline_options() const { return pipeline_; }

 protected:
  Store(OptionReader options, std::string backend_id, std::vector<std::string> schemes,
        std::uint32_t static_capabilities);

  const OptionReader& options() const { return options_; }

  /// Driver hooks, called after the capability checks.
  virtual void configure_add() = 0;
  virtual GetResult do_get(const StoreLocation& location, std::uint64_t offset,
                           std::optional<std::uint64_t> length, const RequestContext* context) = 0;
  virtual std::uint64_t do_get_size(const StoreLocation& location,
                                    const RequestContext* context) = 0;
  virtual void do_remove(const StoreLocation& location, const RequestContext* context) = 0;
  /// Prepares an add: chooses where it goes, checks for a Duplicate, opens the writer.
  virtual std::unique_ptr<ImageWriter> begin_add(std::string_view image_id, std::uint64_t size,
                                                 const RequestContext* context) = 0;

 private:
  OptionReader options_;
  std::string backend_id_;
  std::vector<std::string> schemes_;
  CapabilitySet capabilities_;
  std::uint32_t static_capabilities_;
  std::string add_disabled_reason_;
  std::int64_t weight_ = 0;
  std::optional<std::string> description_;
  PipelineOptions pipeline_;
};

/// glance_store's check_location_metadata: a dict whose values are strings, lists or dicts,
/// recursively. Throws Error(kBackendException) naming the offending key.
void check_location_metadata(const nlohmann::json& metadata, std::string_view driver = "");

}  // namespace glance_store
