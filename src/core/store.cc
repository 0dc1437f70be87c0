#include "glance_store/store.h"

#include "core/add_pipeline.h"
#include "core/log.h"
#include "glance_store/error.h"
#include "glance_store/hashing.h"
#include "glance_store/image_id.h"

namespace glance_store {

Store::Store(OptionReader options, std::string backend_id, std::vector<std::string> schemes,
             std::uint32_t static_capabilities)
    : options_(std::move(options)),
      backend_id_(std::move(backend_id)),
      schemes_(std::move(schemes)),
      capabilities_(static_capabilities),
      static_capabilities_(static_capabilities) {}

const std::vector<std::string>& Store::schemes() const { return schemes_; }

void Store::configure(bool rethrow) {
  if (!backend_id_.empty()) {
    weight_ = options_.get_int("weight", 0);
    description_ = options_.get_string("store_description");
  }
  // Our own options: the add pipeline's memory bound (buffer size × count).
  pipeline_.buffer_size =
      static_cast<std::size_t>(options_.get_int("add_buffer_size", 1 << 20, 4096, 256LL << 20));
  pipeline_.buffer_count =
      static_cast<std::size_t>(options_.get_int("add_buffer_count", 8, 2, 1024));
  pipeline_.memory_limit = static_cast<std::uint64_t>(
      options_.get_int("add_memory_limit", 96LL << 20, 1LL << 20, 1LL << 40));
  try {
    if (std::uint64_t{pipeline_.buffer_size} * pipeline_.buffer_count > pipeline_.memory_limit) {
      throw bad_store_configuration_error(
          config_name(),
          "add_memory_limit (" + std::to_string(pipeline_.memory_limit) +
              " bytes) is below add_buffer_size × add_buffer_count (" +
              std::to_string(std::uint64_t{pipeline_.buffer_size} * pipeline_.buffer_count) +
              " bytes), the add pipeline's own buffers");
    }
    configure_add();
    // A configuration that works again gives back what an earlier failure took away.
    if ((static_capabilities_ & bits(Capability::kWriteAccess)) != 0) {
      capabilities_.set({Capability::kWriteAccess});
    }
    add_disabled_reason_.clear();
  } catch (const InvalidOptionValue&) {
    throw;  // a malformed value is an operator error for every operation, not just add
  } catch (const Error& e) {
    if (!e.is(ErrorKind::kBadStoreConfiguration)) throw;
    capabilities_.unset({Capability::kWriteAccess});
    add_disabled_reason_ = e.message();
    internal::logger()->warn("Failed to configure store correctly: {} Disabling add method.",
                             e.message());
    if (rethrow) throw;
  }
}

GetResult Store::get(const StoreLocation& location, std::uint64_t offset,
                     std::optional<std::uint64_t> length, const RequestContext* context) {
  if (length && *length == 0) length.reset();  // as glance_store: a zero length means "all"
  std::uint32_t needed = bits(Capability::kReadAccess);
  if (offset != 0) needed |= bits(Capability::kReadOffset);
  if (length) needed |= bits(Capability::kReadChunk);
  if ((capabilities_.mask() & needed) != needed) {
    if (offset != 0 || length) {
      throw Error(ErrorKind::kStoreRandomGetNotSupported,
                  Error::format(default_message(ErrorKind::kStoreRandomGetNotSupported),
                                {{"offset", std::to_string(offset)},
                                 {"chunk_size", length ? std::to_string(*length) : "None"}}));
    }
    throw Error(ErrorKind::kStoreGetNotSupported, "");
  }
  return do_get(location, offset, length, context);
}

std::uint64_t Store::get_size(const StoreLocation& location, const RequestContext* context) {
  return do_get_size(location, context);
}

void Store::remove(const StoreLocation& location, const RequestContext* context) {
  if (!capabilities_.is_capable(Capability::kWriteAccess)) {
    throw Error(ErrorKind::kStoreDeleteNotSupported, "");
  }
  do_remove(location, context);
}

AddResult Store::add(std::string_view image_id, InputStream& data, std::uint64_t size,
                     std::string_view hashing_algo, const Verifier* verifier,
                     const RequestContext* context, const ExpectedDigests* expected) {
  if (!capabilities_.is_capable(Capability::kWriteAccess)) {
    std::string message(default_message(ErrorKind::kStoreAddDisabled));
    if (!add_disabled_reason_.empty()) message += " Reason: " + add_disabled_reason_;
    throw Error(ErrorKind::kStoreAddDisabled, message);
  }
  // Both hashers exist before the driver is asked for anything: an unknown algorithm fails
  // before a byte is read or written.
  check_image_id(image_id);
  auto md5 = Hasher::create("md5");
  std::unique_ptr<Hasher> multihash;
  if (hashing_algo != "md5") multihash = Hasher::create(hashing_algo);

  auto writer = begin_add(image_id, size, context);
  auto piped = internal::run_add_pipeline(data, size, *md5, multihash.get(), verifier, *writer,
                                          pipeline_, expected, hashing_algo);
  AddResult result;
  result.location = std::move(piped.committed.location);
  result.bytes_written = piped.bytes;
  result.checksum = std::move(piped.md5);
  result.multihash = std::move(piped.multihash);
  result.hash_algo = std::string(hashing_algo);
  result.metadata = std::move(piped.committed.metadata);
  if (!backend_id_.empty()) result.metadata["store"] = backend_id_;
  return result;
}

std::vector<Leftover> Store::find_leftovers(std::int64_t /*min_age_seconds*/) { return {}; }

void Store::remove_leftover(const Leftover& /*leftover*/) {}

void Store::set_acls(const StoreLocation& /*location*/, bool /*is_public*/,
                     const std::vector<std::string>& /*read_tenants*/,
                     const std::vector<std::string>& /*write_tenants*/,
                     const RequestContext* /*context*/) {
  internal::logger()->debug("Skipping store.set_acls... not implemented");
}

namespace {

void check_value(const nlohmann::json& value, const nlohmann::json& whole, std::string_view driver,
                 const std::string& key) {
  if (value.is_string()) return;
  if (value.is_object()) {
    for (const auto& [k, v] : value.items()) check_value(v, whole, driver, k);
    return;
  }
  if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      check_value(value[i], whole, driver, key + "[" + std::to_string(i) + "]");
    }
    return;
  }
  throw Error(ErrorKind::kBackendException,
              "A bad metadata structure was returned from the " + std::string(driver) +
                  " storage driver: " + whole.dump() + ".  The image metadata key " + key +
                  " has an invalid type of " + value.type_name() +
                  ". Only dict, list, and unicode are supported..");
}

}  // namespace

void check_location_metadata(const nlohmann::json& metadata, std::string_view driver) {
  if (metadata.is_null()) return;
  if (!metadata.is_object()) {
    throw Error(ErrorKind::kBackendException, "The storage driver " + std::string(driver) +
                                                  " returned invalid  metadata " + metadata.dump() +
                                                  ". This must be a dictionary type");
  }
  for (const auto& [key, value] : metadata.items()) check_value(value, metadata, driver, key);
}

}  // namespace glance_store
