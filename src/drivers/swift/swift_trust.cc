#include "drivers/swift/swift_trust.h"

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "glance_store/error.h"
#include "net/transfer.h"

namespace glance_store::swift {
namespace {

std::string identity_url(const std::string& auth_url) {
  std::string url = keystone_tokens_url(auth_url);
  url.resize(url.size() - std::string_view("/auth/tokens").size());
  return url;
}

net::Response send(net::HttpClient& http, net::Request request, const std::string& what) {
  try {
    return http.perform(request);
  } catch (const net::TransportError& e) {
    throw net::transport_error(what, e);
  }
}

// The user's token as Keystone sees it: its user, project and role names.
nlohmann::json validate(net::HttpClient& http, const std::string& base,
                        const std::string& user_token) {
  net::Request request;
  request.url = base + "/auth/tokens";
  request.headers = {{"X-Auth-Token", user_token}, {"X-Subject-Token", user_token}};
  const std::string what = "Reading the roles of the user's token at " + base;
  const net::Response response = send(http, request, what);
  if (response.status != 200) throw keystone_error(what, response);
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_discarded() || !json.contains("token") || !json["token"].is_object()) {
    throw Error(ErrorKind::kBackendException, what + ": Keystone's answer has no token");
  }
  return std::move(json["token"]);
}

}  // namespace

Trust create_trust(net::HttpClient& http, const Credentials& trustee, const RequestContext& user) {
  const std::string base = identity_url(trustee.auth_url);
  const Token trustee_token = keystone_token(http, trustee);
  if (trustee_token.user_id.empty()) {
    throw Error(ErrorKind::kBackendException, "Keystone did not say who the trustee is");
  }
  const nlohmann::json token = validate(http, base, user.auth_token);
  std::string trustor = user.user_id;
  if (trustor.empty() && token.contains("user")) trustor = token["user"].value("id", "");
  std::string project = user.project_id;
  if (project.empty() && token.contains("project")) project = token["project"].value("id", "");
  nlohmann::json roles = nlohmann::json::array();
  for (const auto& role : token.value("roles", nlohmann::json::array())) {
    if (role.is_object() && role.contains("name")) roles.push_back({{"name", role["name"]}});
  }
  if (trustor.empty() || project.empty() || roles.empty()) {
    throw Error(ErrorKind::kBackendException,
                "The user's token names no user, project or roles to delegate");
  }

  const std::string body = nlohmann::json{
      {"trust",
       {{"trustor_user_id", trustor},
        {"trustee_user_id", trustee_token.user_id},
        {"project_id", project},
        {"impersonation", true},
        {"roles", roles}}}}.dump();
  net::Request request;
  request.method = "POST";
  request.url = base + "/OS-TRUST/trusts";
  request.headers = {{"Content-Type", "application/json"}, {"X-Auth-Token", user.auth_token}};
  request.body = std::as_bytes(std::span(body));
  const std::string what = "Creating a Keystone trust at " + base;
  const net::Response response = send(http, request, what);
  if (response.status != 201) throw keystone_error(what, response);
  const auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_discarded() || !json.contains("trust") || !json["trust"].is_object() ||
      !json["trust"].contains("id") || !json["trust"]["id"].is_string()) {
    throw Error(ErrorKind::kBackendException, what + ": Keystone's answer has no trust id");
  }
  Trust trust{json["trust"]["id"].get<std::string>(), base, trustee};
  trust.credentials.trust_id = trust.id;
  trust.credentials.project_id.reset();
  trust.credentials.project_name.reset();
  internal::logger()->debug("Keystone trust {} made for a transfer of user {}", trust.id, trustor);
  return trust;
}

bool delete_trust(net::HttpClient& http, const Trust& trust, const std::string& token) noexcept {
  try {
    net::Request request;
    request.method = "DELETE";
    request.url = trust.identity_url + "/OS-TRUST/trusts/" + trust.id;
    request.headers = {{"X-Auth-Token", token}};
    const net::Response response = http.perform(request);
    if (response.status == 204 || response.status == 404) return true;
    internal::logger()->warn("Could not delete Keystone trust {}: {}", trust.id,
                             describe_failure(response.status, response.body));
  } catch (const std::exception& e) {
    internal::logger()->warn("Could not delete Keystone trust {}: {}", trust.id, e.what());
  }
  return false;
}

}  // namespace glance_store::swift
