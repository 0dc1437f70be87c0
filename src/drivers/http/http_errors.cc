#include "drivers/http/http_errors.h"

#include "glance_store/location.h"

namespace glance_store::http {
namespace {

constexpr std::size_t kMaxQuotedBody = 1000;

}  // namespace

Error status_error(std::string_view path, long status, std::string body) {
  if (status == 404) return {ErrorKind::kNotFound, "HTTP datastore could not find image at URI."};
  if (body.size() > kMaxQuotedBody) body.resize(kMaxQuotedBody);
  return {ErrorKind::kBadStoreUri, "HTTP URL " + std::string(path) + " returned a " +
                                       std::to_string(status) +
                                       " status code. \nThe response body:\n" + body};
}

Error redirect_status_error(std::string_view path, long status) {
  return {ErrorKind::kBadStoreUri, "The HTTP URL " + std::string(path) +
                                       " attempted to redirect with an invalid " +
                                       std::to_string(status) + " status code."};
}

Error missing_location_error(std::string_view path, long status) {
  return {ErrorKind::kBadStoreUri, "The HTTP URL " + std::string(path) + " answered " +
                                       std::to_string(status) +
                                       " without a Location to redirect to."};
}

Error bad_location_error(std::string_view reference) {
  return {ErrorKind::kBadStoreUri,
          "The HTTP server redirected to an invalid location: " + redact_uri(reference)};
}

Error max_redirects_error(int requests) {
  return {ErrorKind::kMaxRedirectsExceeded,
          "The HTTP URL exceeded " + std::to_string(requests) + " maximum redirects."};
}

Error unreachable_error(const net::TransportError& e) {
  return {
      ErrorKind::kRemoteServiceUnavailable,
      std::string(default_message(ErrorKind::kRemoteServiceUnavailable)) + " (" + e.what() + ")"};
}

Error size_unreachable_error(const net::TransportError& e) {
  return {ErrorKind::kBadStoreUri, std::string("The HTTP URL is invalid: ") + e.what()};
}

Error broken_body_error(std::string_view what, std::uint64_t delivered,
                        const net::TransportError& e) {
  return {ErrorKind::kBackendException, "Reading " + std::string(what) + " failed after " +
                                            std::to_string(delivered) + " bytes: " + e.what()};
}

}  // namespace glance_store::http
