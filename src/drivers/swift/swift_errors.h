// The one place where Swift's and Keystone's answers become error kinds (internal), and which
// of them are worth sending again.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "glance_store/error.h"
#include "net/http.h"

namespace glance_store::swift {

/// "HTTP 404" plus the start of the body, for messages.
std::string describe_failure(long status, std::string_view body);

/// A refused or failed request to the object store (a read, a HEAD, a delete, a listing):
/// Forbidden for 401 and 403, else BackendException; the message is `what`, the status and the
/// start of the body.
Error read_error(std::string_view what, long status, std::string_view body);
inline Error read_error(std::string_view what, const net::Response& response) {
  return read_error(what, response.status, response.body);
}

/// A failed PUT of an add: Duplicate for 412 and 409 (the object exists, or a newer PUT of it
/// landed), StorageFull for 413, Forbidden for 401 and 403, else BackendException.
Error add_error(long status, std::string_view body);

/// A refused authentication: AuthorizationFailure for 401 and 403, AuthUrlNotFound for 404,
/// AuthBadRequest for 400, else BackendException.
ErrorKind auth_failure_kind(long status);

/// A refused Keystone request after authentication (trusts): AuthorizationFailure for 401 and
/// 403, else BackendException.
Error keystone_error(std::string_view what, const net::Response& response);

/// Why an answer is worth sending again (5xx, 429, 408; 422, Swift finding another md5 than the
/// request's ETag, when the body can be sent again from its first byte), or nullopt.
std::optional<std::string> transient(long status, bool body_resendable = false);

}  // namespace glance_store::swift
