#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>

#include "core/log.h"
#include "core/url.h"
#include "drivers/s3/s3.h"
#include "drivers/s3/s3_answers.h"
#include "drivers/s3/s3_client.h"
#include "drivers/s3/s3_location.h"
#include "drivers/s3/s3_options.h"
#include "drivers/s3/s3_reader.h"
#include "drivers/s3/s3_writer.h"
#include "glance_store/error.h"

namespace glance_store::s3 {
namespace {

constexpr std::string_view kMaskedSecret = "***";  // as locations are printed without secrets
constexpr std::size_t kMaxKeyLength = 1024;        // bytes of UTF-8, S3's limit

constexpr std::uint32_t kCapabilities =
    bits(Capability::kReadRandom) | bits(Capability::kWriteAccess);

bool is_aws_host(std::string_view host) {
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
}

class S3Store final : public Store {
 public:
  S3Store(OptionReader options, std::string backend_id)
      : Store(std::move(options), std::move(backend_id), schemes_of_type("s3"), kCapabilities) {}

  std::string_view type() const override { return "s3"; }
  std::string_view config_name() const override { return "s3"; }

  std::unique_ptr<StoreLocation> parse_location(std::string_view uri) const override {
    return S3Location::parse(uri);
  }

  // Every multipart upload in progress in the bucket: what an add killed before it completed
  // or aborted leaves (its parts, stored and paid for). Objects are never leftovers. A live
  // add's upload cannot be told from a dead one's: only its age protects it.
  std::vector<Leftover> find_leftovers(std::int64_t min_age_seconds) override {
    const Endpoint endpoint = configured_endpoint();
    const std::string& bucket = *options_.bucket;
    const std::int64_t now = std::time(nullptr);
    std::vector<Leftover> out;
    std::string key_marker;
    std::string upload_id_marker;
    for (;;) {
      Operation list{.method = "GET", .bucket = bucket};
      // Keys as XML text: image ids are UTF-8 without control characters. (encoding-type=url
      // is no help: RGW encodes the keys but neither says so nor encodes the markers.)
      list.query = {{"uploads", ""}};
      if (!key_marker.empty()) {
        list.query.emplace_back("key-marker", key_marker);
        list.query.emplace_back("upload-id-marker", upload_id_marker);
      }
      const std::string what = "Listing the multipart uploads of S3 bucket " + bucket;
      const net::Response response = client_->call(endpoint, list, what + " failed");
      const S3Failure failure = parse_failure(response);
      if (response.status == 404) return {};  // no bucket, so no upload
      if (response.status != 200 || !failure.code.empty()) throw failure_error(what, failure);
      const auto listing = parse_upload_listing(response.body);
      if (!listing) {
        throw Error(ErrorKind::kBackendException,
                    what +
                        ": the answer is not a listing, or an upload in it has no key, "
                        "upload id or start time");
      }
      for (const auto& upload : listing->uploads) {
        Leftover leftover;
        leftover.kind = "multipart upload";
        leftover.name = upload.key;
        leftover.image_id = upload.key;
        leftover.detail = upload.upload_id;
        leftover.age_seconds = std::max<std::int64_t>(0, now - upload.initiated);
        if (leftover.age_seconds >= min_age_seconds) out.push_back(std::move(leftover));
      }
      if (!listing->truncated) return out;
      std::string next_key = listing->next_key_marker;
      std::string next_upload_id = listing->next_upload_id_marker;
      if (next_key.empty() || (next_key == key_marker && next_upload_id == upload_id_marker)) {
        throw Error(ErrorKind::kBackendException,
                    what + ": a truncated listing gives no marker to go on from");
      }
      key_marker = std::move(next_key);
      upload_id_marker = std::move(next_upload_id);
    }
  }

  // AbortMultipartUpload. An upload already gone is not an error: S3 answers NoSuchUpload, RGW
  // NoSuchKey.
  void remove_leftover(const Leftover& leftover) override {
    const Endpoint endpoint = configured_endpoint();
    Operation abort_upload{.method = "DELETE", .bucket = *options_.bucket, .key = leftover.name};
    abort_upload.query = {{"uploadId", leftover.detail}};
    const std::string what =
        "Aborting the S3 multipart upload " + leftover.detail + " of " + leftover.name;
    const net::Response response = client_->call(endpoint, abort_upload, what + " failed");
    if (response.status == 204 || response.status == 200 || response.status == 404) return;
    throw failure_error(what + " failed", parse_failure(response));
  }

  std::string url_prefix() const override {
    if (!options_.host || !options_.access_key || !options_.secret_key || !options_.bucket) {
      return "";
    }
    const auto location = S3Location::for_new_image(*options_.host, *options_.access_key,
                                                    *options_.secret_key, *options_.bucket, "");
    std::string uri = location->uri();
    uri.pop_back();  // the empty key's '/'
    return uri;
  }

 protected:
  void configure_add() override {
    options_ = S3Options::read(options());
    net::HttpOptions http;
    http.ca_file = options_.cacert;
    http.stall_timeout_s = options_.timeout;
    http.connect_timeout_s = std::min<std::int64_t>(options_.timeout, 30);
    client_ = std::make_shared<S3Client>(std::make_shared<net::HttpClient>(std::move(http)),
                                         static_cast<int>(options_.max_retries));
    options_.check_for_add();
    const auto part = static_cast<std::uint64_t>(options_.large_object_chunk_size) * kMiB;
    if (!pipeline_options().part_fits(part)) {
      throw bad_store_configuration_error(
          "s3", "s3_store_large_object_chunk_size (" + std::to_string(part) +
                    " bytes per part) does not fit in add_memory_limit (" +
                    std::to_string(pipeline_options().memory_limit) +
                    " bytes, less the add pipeline's buffers and two more)");
    }
  }

  GetResult do_get(const StoreLocation& location, std::uint64_t offset,
                   std::optional<std::uint64_t> length,
                   const RequestContext* /*context*/) override {
    const auto& loc = as_s3(location);
    return open_object(client_, endpoint_for(loc), loc.bucket(), loc.key(), offset, length);
  }

  std::uint64_t do_get_size(const StoreLocation& location,
                            const RequestContext* /*context*/) override {
    const auto& loc = as_s3(location);
    const net::Response head = head_object(endpoint_for(loc), loc.bucket(), loc.key());
    if (head.status == 404) throw not_found_error(loc.key());
    const std::string* length = head.header("content-length");
    if (length == nullptr) {
      throw Error(ErrorKind::kBackendException, "S3 HEAD of " + loc.key() + " gave no size");
    }
    return std::stoull(*length);
  }

  void do_remove(const StoreLocation& location, const RequestContext* /*context*/) override {
    const auto& loc = as_s3(location);
    const Endpoint endpoint = endpoint_for(loc);
    const net::Response head = head_object(endpoint, loc.bucket(), loc.key());
    if (head.status == 404) throw not_found_error(loc.key());
    const net::Response response =
        client_->call(endpoint, {.method = "DELETE", .bucket = loc.bucket(), .key = loc.key()},
                      "S3 DELETE of " + loc.key() + " failed");
    if (response.status != 204 && response.status != 200) {
      throw failure_error("Failed to delete S3 object " + loc.key(), parse_failure(response));
    }
  }

  std::unique_ptr<ImageWriter> begin_add(std::string_view image_id, std::uint64_t size,
                                         const RequestContext* /*context*/) override {
    if (image_id.size() > kMaxKeyLength) {
      throw Error(ErrorKind::kInvalid, "Invalid image id: it is longer than S3's " +
                                           std::to_string(kMaxKeyLength) + "-byte keys");
    }
    const auto location =
        S3Location::for_new_image(*options_.host, *options_.access_key, *options_.secret_key,
                                  *options_.bucket, std::string(image_id));
    UploadTarget target;
    target.client = client_.get();
    target.endpoint = endpoint_for(*location);
    target.bucket = location->bucket();
    target.key = location->key();
    target.location = location->uri();

    ensure_bucket(target.endpoint, target.bucket);
    const net::Response head = head_object(target.endpoint, target.bucket, target.key);
    if (head.status != 404) throw duplicate_error(target.key);

    const std::uint64_t threshold = static_cast<std::uint64_t>(options_.large_object_size) * kMiB;
    if (size != 0 && size < threshold) return make_streaming_put_writer(std::move(target), size);
    const MultipartPlan plan =
        plan_multipart(size, static_cast<std::uint64_t>(options_.large_object_chunk_size) * kMiB,
                       static_cast<std::uint64_t>(options_.max_upload_parts),
                       static_cast<std::size_t>(options_.thread_pools), pipeline_options());
    return make_multipart_writer(std::move(target), plan);
  }

 private:
  // Where the store writes: the configured host and bucket, with the configured credentials.
  Endpoint configured_endpoint() const {
    if (!client_ || !options_.host || !options_.access_key || !options_.secret_key ||
        !options_.bucket) {
      throw bad_store_configuration_error(
          "s3",
          "s3_store_host, s3_store_access_key, s3_store_secret_key and s3_store_bucket are "
          "needed to look for leftovers");
    }
    const auto location = S3Location::for_new_image(*options_.host, *options_.access_key,
                                                    *options_.secret_key, *options_.bucket, "");
    return endpoint_for(*location);
  }

  // The location of one object: glance's parser also takes an empty or dot key or bucket,
  // which would address a bucket, or the service.
  static const S3Location& as_s3(const StoreLocation& location) {
    const auto* loc = dynamic_cast<const S3Location*>(&location);
    if (loc == nullptr) throw Error(ErrorKind::kBadStoreUri, "not an S3 location");
    if (internal::names_no_object(loc->bucket()) || internal::names_no_object(loc->key())) {
      throw Error(ErrorKind::kBadStoreUri,
                  "The S3 location names no object: its bucket and key must not be empty, '.' "
                  "or '..'");
    }
    return *loc;
  }

  // Requests go where the location points, signed with its credentials, in the configured
  // region or the one its host implies. The configured credentials sign only requests to the
  // configured host: a location without credentials that names another host is refused before
  // any request, so a stored location cannot send them elsewhere.
  Endpoint endpoint_for(const S3Location& location) const {
    Endpoint endpoint;
    endpoint.base_url = location.endpoint();
    const bool configured_host = options_.host && internal::url_origin(location.endpoint()) ==
                                                      internal::url_origin(*options_.host);
    if (location.has_credentials() && location.secret_key() == kMaskedSecret) {
      // The location as `add` prints it: the configured key's secret, where it belongs.
      if (!configured_host || location.access_key() != options_.access_key.value_or("")) {
        throw Error(ErrorKind::kBadStoreUri,
                    "The S3 location's secret key is masked ('***'), and its access key and host "
                    "are not this store's: use the full location, which `add "
                    "--show-credentials` prints");
      }
      endpoint.key.access_key = location.access_key();
      endpoint.key.secret_key = options_.secret_key.value_or("");
    } else if (location.has_credentials()) {
      endpoint.key.access_key = location.access_key();
      endpoint.key.secret_key = location.secret_key();
    } else {
      if (!configured_host) {
        throw Error(ErrorKind::kBadStoreUri,
                    "The S3 location has no credentials and names " + location.service_url() +
                        ", which is not s3_store_host: the configured credentials are sent to "
                        "s3_store_host only");
      }
      endpoint.key.access_key = options_.access_key.value_or("");
      endpoint.key.secret_key = options_.secret_key.value_or("");
    }
    std::string region = options_.region_name;
    if (region.empty()) region = region_of_host(location.service_url());
    endpoint.key.region = region.empty() ? "us-east-1" : region;
    const std::string& format = options_.bucket_url_format;
    if (format == "virtual") {
      if (!is_dns_compatible_bucket(location.bucket())) {
        throw Error(ErrorKind::kBadStoreConfiguration,
                    "Bucket name '" + location.bucket() +
                        "' is not DNS compatible, as s3_store_bucket_url_format = virtual needs");
      }
      endpoint.virtual_host = true;
    } else if (format != "path") {
      endpoint.virtual_host =
          is_aws_host(location.service_url()) && is_dns_compatible_bucket(location.bucket());
    }
    return endpoint;
  }

  // A HEAD has no body: when it fails, a GET of the same resource tells the S3 error code.
  S3Failure explain_head(const Endpoint& endpoint, Operation op, long status) {
    op.method = "GET";
    if (op.key.empty()) {
      op.query = {{"max-keys", "0"}};
    } else {
      op.headers.emplace_back("Range", "bytes=0-0");
    }
    try {
      const net::Response response = client_->send(endpoint, op);
      if (response.status == status) return parse_failure(response.status, response.body);
    } catch (const net::TransportError&) {
    }
    return {.status = status};
  }

  // 200 or 404; anything else is BadStoreConfiguration, as glance_store reports it.
  net::Response head_object(const Endpoint& endpoint, const std::string& bucket,
                            const std::string& key) {
    const Operation op{.method = "HEAD", .bucket = bucket, .key = key};
    net::Response response = client_->call(endpoint, op, "S3 HEAD of " + key + " failed");
    if (response.status == 200 || response.status == 404) return response;
    const S3Failure failure = explain_head(endpoint, op, response.status);  // as a GET says
    if (failure.refused()) throw failure_error("S3 refused access to " + key, failure);
    throw bad_store_configuration_error("s3", "Failed to get object info: " + failure.describe());
  }

  void ensure_bucket(const Endpoint& endpoint, const std::string& bucket) {
    const Operation op{.method = "HEAD", .bucket = bucket};
    const net::Response response =
        client_->call(endpoint, op, "S3 HEAD of bucket " + bucket + " failed");
    if (response.status == 200) return;
    if (response.status != 404) {
      const S3Failure failure = explain_head(endpoint, op, response.status);
      if (failure.refused()) throw failure_error("S3 refused access to bucket " + bucket, failure);
      throw bad_store_configuration_error("s3", "Failed to get bucket info: " + failure.describe());
    }
    if (!options_.create_bucket_on_put) {
      throw Error(ErrorKind::kBackendException,
                  "The bucket " + bucket +
                      " does not exist in S3. Please set the s3_store_create_bucket_on_put option "
                      "to add bucket to S3 automatically.");
    }
    create_bucket(endpoint, bucket);
  }

  void create_bucket(const Endpoint& endpoint, const std::string& bucket) {
    std::string region = options_.region_name;
    if (region.empty()) region = region_of_host(*options_.host);
    Operation create{.method = "PUT", .bucket = bucket};
    std::string xml;
    if (!region.empty()) {
      xml = "<CreateBucketConfiguration><LocationConstraint>" + region +
            "</LocationConstraint></CreateBucketConfiguration>";
      create.body = std::as_bytes(std::span(xml));
      create.sign_body = true;
    }
    const net::Response response =
        client_->call(endpoint, create, "Creating S3 bucket " + bucket + " failed");
    const S3Failure failure = parse_failure(response);
    if (response.status == 200 || failure.already_owned()) return;
    throw bad_store_configuration_error("s3", "Failed to add bucket to S3: " + failure.describe());
  }

  S3Options options_;
  std::shared_ptr<S3Client> client_;
};

}  // namespace

std::unique_ptr<Store> make_s3_store(OptionReader options, std::string backend_id) {
  return std::make_unique<S3Store>(std::move(options), std::move(backend_id));
}

std::unique_ptr<StoreLocation> parse_s3_location(std::string_view uri) {
  return S3Location::parse(uri);
}

}  // namespace glance_store::s3
