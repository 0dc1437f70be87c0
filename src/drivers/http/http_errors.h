// The one place where the HTTP store's answers and failures become error kinds (internal), as
// glance_store reports them.
#pragma once

#include <string>
#include <string_view>

#include "glance_store/error.h"
#include "net/http.h"

namespace glance_store::http {

/// An answer of 400 or more to `path`: NotFound for 404, else BadStoreUri quoting the start of
/// the body.
Error status_error(std::string_view path, long status, std::string body);
/// A 3xx other than 301 and 302: BadStoreUri.
Error redirect_status_error(std::string_view path, long status);
/// A 301 or 302 without a usable Location: BadStoreUri.
Error missing_location_error(std::string_view path, long status);
/// A Location that is no URL: BadStoreUri (the reference redacted).
Error bad_location_error(std::string_view reference);
/// Too many redirects: MaxRedirectsExceeded.
Error max_redirects_error(int requests);
/// A GET whose server cannot be reached: RemoteServiceUnavailable, glance_store's sentence and
/// why.
Error unreachable_error(const net::TransportError& e);
/// A HEAD (get_size) whose server cannot be reached: BadStoreUri, as glance_store says.
Error size_unreachable_error(const net::TransportError& e);
/// A body of unknown length whose connection broke: BackendException.
Error broken_body_error(std::string_view what, std::uint64_t delivered,
                        const net::TransportError& e);

}  // namespace glance_store::http
