#include "drivers/s3/s3_reader.h"

#include "drivers/s3/s3_errors.h"
#include "glance_store/error.h"
#include "net/ranged_read.h"

namespace glance_store::s3 {

GetResult open_object(const std::shared_ptr<S3Client>& client, const Endpoint& endpoint,
                      const std::string& bucket, const std::string& key, std::uint64_t offset,
                      std::optional<std::uint64_t> length) {
  net::ObjectRead object{
      .what = "S3 object " + key,
      .open =
          [client, endpoint, bucket, key](const net::Headers& headers) {
            return client->open(
                endpoint, {.method = "GET", .bucket = bucket, .key = key, .headers = headers});
          },
      .describe = [](long status,
                     std::string_view body) { return parse_failure(status, body).describe(); }};
  std::unique_ptr<net::ResponseStream> first;
  try {
    first = object.open(net::range_headers(offset, length));
  } catch (const net::TransportError& e) {
    throw transport_error("S3 GET of " + key + " failed", e);
  }
  const long status = first->status();
  if (status != 200 && status != 206 && status != 416) {
    if (status == 404) throw not_found_error(key);
    throw failure_error("S3 GET of " + key + " failed", parse_failure(status, first->read_rest()));
  }
  // A broken read resumes where it stopped, only while the object is the same one.
  object.validator = net::Validator::of(*first);
  // A single PUT's ETag is its md5; a multipart object's is not (it has a '-'), nor is that of
  // an object encrypted with KMS or a customer's key.
  const std::string* sse = first->header("x-amz-server-side-encryption");
  if ((sse == nullptr || *sse == "AES256") &&
      first->header("x-amz-server-side-encryption-customer-algorithm") == nullptr &&
      first->header("etag") != nullptr) {
    object.md5 = net::etag_md5(*first->header("etag"));
  }
  return net::get_result(
      net::read_object(std::move(object), std::move(first), offset, length, client->max_retries()));
}

}  // namespace glance_store::s3
