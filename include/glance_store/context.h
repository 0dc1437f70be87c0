// Who an operation runs for: the user's Keystone token and catalog, as Glance passes its request
// context to glance_store. Only multi-tenant Swift uses it; the other stores ignore it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace glance_store {

struct RequestContext {
  std::string auth_token;  ///< the user's Keystone token (secret: never logged)
  std::string user_id;
  std::string project_id;  ///< glance's "tenant"
  /// The token's service catalog: Keystone v3's list of `{type, endpoints: [{interface, region,
  /// url}]}`, or the v2 form `{type, endpoints: [{publicURL, internalURL, adminURL, region}]}`.
  nlohmann::json service_catalog = nlohmann::json::array();
};

}  // namespace glance_store
