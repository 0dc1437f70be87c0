// Keystone trusts for the multi-tenant Swift store (internal): a long transfer in a user's
// account renews its token through a trust from that user to the store's own Keystone user,
// instead of failing when the user's token expires.
#pragma once

#include <string>

#include "drivers/swift/swift_session.h"
#include "glance_store/context.h"

namespace glance_store::swift {

/// A trust made for one operation.
struct Trust {
  std::string id;
  std::string identity_url;  ///< Keystone's `…/v3`
  /// The trustee's credentials scoped to the trust: its tokens act as the user (impersonation)
  /// in the user's project, with the roles of the user's token.
  Credentials credentials;
};

/// Makes the trust: authenticates the trustee (the store's reference), reads the roles of the
/// user's token, and asks Keystone, with that token, for a trust from the user to the trustee
/// on the user's project. Throws Error when any step fails (the caller then uses the user's
/// token as it is).
Trust create_trust(net::HttpClient& http, const Credentials& trustee, const RequestContext& user);

/// Deletes the trust with `token` (one of the trust's, or the user's). Returns false, and logs,
/// when Keystone does not.
bool delete_trust(net::HttpClient& http, const Trust& trust, const std::string& token) noexcept;

}  // namespace glance_store::swift
