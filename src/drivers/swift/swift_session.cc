#include "drivers/swift/swift_session.h"

#include <ctime>
#include <iterator>
#include <thread>

#include "core/log.h"
#include "glance_store/error.h"
#include "net/retry.h"
#include "net/transfer.h"

namespace glance_store::swift {
namespace {

using Clock = std::chrono::system_clock;

// "2026-11-21T12:00:00.000000Z" → a time point; nullopt when it does not parse.
// Years the clock cannot hold are nullopt too (system_clock counts nanoseconds in 64 bits, about
// 1678 to 2262: a year 1013 overflowed it, as the Keystone answer fuzzer found).
std::optional<Clock::time_point> parse_iso8601(const std::string& text) {
  std::tm tm{};
  if (strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return std::nullopt;
  if (tm.tm_year < 0 || tm.tm_year > 300) return std::nullopt;  // years since 1900
  return Clock::from_time_t(timegm(&tm));
}

// A member that is a string, or "" (absent, or of another type: json::value() would throw).
std::string string_field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string interface_name(std::string_view endpoint_type) {
  if (endpoint_type.ends_with("URL")) endpoint_type.remove_suffix(3);
  return std::string(endpoint_type);
}

Error auth_failure(const Credentials& c, long status, std::string_view body) {
  const std::string who = c.application_credential_id
                              ? "application credential " + *c.application_credential_id
                              : "user " + c.user;
  return {auth_failure_kind(status), "Swift authentication of " + who + " at " + c.auth_url +
                                         " failed: " + describe_failure(status, body)};
}

net::Response post_auth(net::HttpClient& http, const net::Request& request, const Credentials& c) {
  try {
    return http.perform(request);
  } catch (const net::TransportError& e) {
    throw net::transport_error("Swift authentication at " + c.auth_url + " failed", e);
  }
}

Token authenticate_v1(net::HttpClient& http, const Credentials& c) {
  net::Request request;
  request.url = c.auth_url;
  request.headers = {{"X-Auth-User", c.user}, {"X-Auth-Key", c.key}};
  const net::Response response = post_auth(http, request, c);
  if (response.status < 200 || response.status >= 300) {
    throw auth_failure(c, response.status, response.body);
  }
  const std::string* token = response.header("x-auth-token");
  const std::string* storage = response.header("x-storage-url");
  if (token == nullptr || storage == nullptr) {
    throw Error(ErrorKind::kBackendException,
                "Swift authentication at " + c.auth_url + " returned no token or storage URL");
  }
  Token out{*token, *storage, std::nullopt};
  if (const auto seconds = net::parse_u64(response.header("x-auth-token-expires"))) {
    out.expires_at = Clock::now() + std::chrono::seconds(*seconds);
  }
  return out;
}

nlohmann::json domain(const std::optional<std::string>& id,
                      const std::optional<std::string>& name) {
  if (id) return {{"id", *id}};
  if (name) return {{"name", *name}};
  return {{"id", "default"}};
}

KeystoneAnswer keystone_auth(net::HttpClient& http, const Credentials& c) {
  nlohmann::json auth;
  if (c.application_credential_id && c.application_credential_secret) {
    // An application credential carries its own project: no project scope.
    auth["identity"] = {
        {"methods", {"application_credential"}},
        {"application_credential",
         {{"id", *c.application_credential_id}, {"secret", *c.application_credential_secret}}}};
  } else {
    auth["identity"] = {{"methods", {"password"}},
                        {"password",
                         {{"user",
                           {{"name", c.user},
                            {"domain", domain(c.user_domain_id, c.user_domain_name)},
                            {"password", c.key}}}}}};
  }
  if (c.trust_id) {
    auth["scope"] = {{"OS-TRUST:trust", {{"id", *c.trust_id}}}};
  } else if (c.application_credential_id && c.application_credential_secret) {
    // scoped by the credential itself
  } else if (c.project_id) {
    auth["scope"] = {{"project", {{"id", *c.project_id}}}};
  } else if (c.project_name) {
    auth["scope"] = {{"project",
                      {{"name", *c.project_name},
                       {"domain", domain(c.project_domain_id, c.project_domain_name)}}}};
  }
  const std::string body = nlohmann::json{{"auth", auth}}.dump();
  net::Request request;
  request.method = "POST";
  request.url = keystone_tokens_url(c.auth_url);
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::as_bytes(std::span(body));
  const net::Response response = post_auth(http, request, c);
  if (response.status != 201 && response.status != 200) {
    throw auth_failure(c, response.status, response.body);
  }
  const std::string* token = response.header("x-subject-token");
  auto answer = token ? parse_keystone_answer(*token, response.body) : std::nullopt;
  if (!answer) {
    throw Error(ErrorKind::kBackendException,
                "Keystone at " + c.auth_url + " returned no usable token");
  }
  return std::move(*answer);
}

Token authenticate_v3(net::HttpClient& http, const Credentials& c, const EndpointChoice& choice) {
  KeystoneAnswer answer = keystone_auth(http, c);
  if (choice.override_url) {
    answer.token.storage_url = *choice.override_url;
    return answer.token;
  }
  const auto url = find_endpoint(answer.catalog, choice);
  if (!url) {
    throw Error(ErrorKind::kBackendException,
                "Cannot find swift service endpoint : no " + choice.service_type + " endpoint (" +
                    choice.interface + (choice.region ? ", region " + *choice.region : "") +
                    ") in the catalog");
  }
  answer.token.storage_url = *url;
  return answer.token;
}

}  // namespace

std::optional<KeystoneAnswer> parse_keystone_answer(std::string subject_token,
                                                    std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("token") ||
      !json["token"].is_object()) {
    return std::nullopt;
  }
  const nlohmann::json& body_token = json["token"];
  KeystoneAnswer out{{std::move(subject_token), "", std::nullopt}, nlohmann::json::array()};
  if (const auto it = body_token.find("expires_at"); it != body_token.end() && it->is_string()) {
    out.token.expires_at = parse_iso8601(it->get<std::string>());
  }
  if (const auto it = body_token.find("user"); it != body_token.end() && it->is_object()) {
    out.token.user_id = string_field(*it, "id");
  }
  if (const auto it = body_token.find("catalog"); it != body_token.end()) out.catalog = *it;
  return out;
}

Token keystone_token(net::HttpClient& http, const Credentials& credentials) {
  return keystone_auth(http, credentials).token;
}

std::vector<ObjectEntry> parse_listing(std::string_view body, const std::string& what) {
  const auto entries = nlohmann::json::parse(body, nullptr, false);
  if (!entries.is_array()) {
    throw Error(ErrorKind::kBackendException, what + ": the answer is not a JSON listing");
  }
  std::vector<ObjectEntry> out;
  for (const auto& entry : entries) {
    if (!entry.is_object()) {
      throw Error(ErrorKind::kBackendException, what + ": an entry is not an object");
    }
    const auto name = entry.find("name");
    const auto bytes = entry.find("bytes");
    const auto hash = entry.find("hash");
    const auto modified = entry.find("last_modified");
    if (name == entry.end() || !name->is_string() || name->get_ref<const std::string&>().empty() ||
        bytes == entry.end() || !bytes->is_number_unsigned()) {
      throw Error(ErrorKind::kBackendException, what + ": an entry has no name or size");
    }
    out.push_back(
        {name->get<std::string>(), bytes->get<std::uint64_t>(),
         hash != entry.end() && hash->is_string() ? hash->get<std::string>() : "",
         modified != entry.end() && modified->is_string() ? modified->get<std::string>() : ""});
  }
  return out;
}

std::optional<std::vector<ObjectEntry>> list_entries(Session& session, const std::string& container,
                                                     const std::string& prefix) {
  const std::string what = "Listing " + container + "/" + prefix + "*";
  std::vector<ObjectEntry> out;
  for (bool first_page = true;; first_page = false) {
    const std::string marker = out.empty() ? "" : out.back().name;
    const std::string query = "format=json&prefix=" + net::uri_encode(prefix, false) +
                              "&marker=" + net::uri_encode(marker, false);
    const net::Response list =
        session.call({.method = "GET", .container = container, .query = query}, what);
    if (list.status == 404 && first_page) return std::nullopt;
    if (list.status == 204) return out;
    if (list.status != 200) throw read_error(what, list.status, list.body);
    std::vector<ObjectEntry> page = parse_listing(list.body, what);
    if (page.empty()) return out;
    std::move(page.begin(), page.end(), std::back_inserter(out));
  }
}

std::vector<std::string> list_objects(Session& session, const std::string& container,
                                      const std::string& prefix) {
  std::vector<std::string> names;
  for (ObjectEntry& entry :
       list_entries(session, container, prefix).value_or(std::vector<ObjectEntry>{})) {
    names.push_back(std::move(entry.name));
  }
  return names;
}

std::optional<std::string> find_endpoint(const nlohmann::json& catalog,
                                         const EndpointChoice& choice) {
  if (!catalog.is_array()) return std::nullopt;
  const std::string interface = interface_name(choice.interface);
  for (const auto& service : catalog) {
    if (!service.is_object() || string_field(service, "type") != choice.service_type) continue;
    for (const auto& endpoint : service.value("endpoints", nlohmann::json::array())) {
      if (!endpoint.is_object()) continue;
      const std::string region = endpoint.contains("region") && endpoint["region"].is_string()
                                     ? endpoint["region"].get<std::string>()
                                     : string_field(endpoint, "region_id");
      if (choice.region && region != *choice.region) continue;
      // v2: the URL under the interface's name; v3: one endpoint per interface. A value of
      // another JSON type than expected is no endpoint (json::value() would throw on it).
      if (const auto v2 = endpoint.find(choice.interface);
          v2 != endpoint.end() && v2->is_string()) {
        return v2->get<std::string>();
      }
      const auto v3 = endpoint.find("interface");
      const auto url = endpoint.find("url");
      if (v3 != endpoint.end() && v3->is_string() && *v3 == interface && url != endpoint.end() &&
          url->is_string()) {
        return url->get<std::string>();
      }
    }
  }
  return std::nullopt;
}

std::string keystone_tokens_url(std::string_view auth_url) {
  while (auth_url.ends_with('/')) auth_url.remove_suffix(1);
  std::string base(auth_url);
  if (base.ends_with("/v2.0")) {
    base.resize(base.size() - 5);
    base += "/v3";
  } else if (!base.ends_with("/v3")) {
    base += "/v3";
  }
  return base + "/auth/tokens";
}

Token authenticate(net::HttpClient& http, const Credentials& credentials,
                   const EndpointChoice& choice) {
  Token token = credentials.v1 ? authenticate_v1(http, credentials)
                               : authenticate_v3(http, credentials, choice);
  if (credentials.v1 && choice.override_url) token.storage_url = *choice.override_url;
  while (token.storage_url.ends_with('/')) token.storage_url.pop_back();
  return token;
}

Session::Session(std::shared_ptr<net::HttpClient> http, Credentials credentials,
                 EndpointChoice choice, std::chrono::seconds expire_soon, int max_retries)
    : http_(std::move(http)),
      credentials_(std::move(credentials)),
      choice_(std::move(choice)),
      expire_soon_(expire_soon),
      max_retries_(max_retries) {}

Session::Session(std::shared_ptr<net::HttpClient> http, std::string token, std::string storage_url,
                 int max_retries)
    : http_(std::move(http)), max_retries_(max_retries) {
  while (storage_url.ends_with('/')) storage_url.pop_back();
  token_ = Token{std::move(token), std::move(storage_url), std::nullopt};
}

Session::~Session() {
  if (!on_close_) return;
  try {
    on_close_(*this);
  } catch (const std::exception& e) {
    internal::logger()->warn("Closing a Swift session: {}", e.what());
  }
}

Token Session::token() {
  std::lock_guard lock(mutex_);
  const bool expiring =
      token_ && token_->expires_at && *token_->expires_at - Clock::now() <= expire_soon_;
  if (credentials_ && (!token_ || expiring)) {
    if (token_) internal::logger()->debug("Swift token expires soon; renewing it");
    token_ = authenticate(*http_, *credentials_, choice_);
    ++authentications_;
  }
  return *token_;
}

int Session::authentications() const {
  std::lock_guard lock(mutex_);
  return authentications_;
}

void Session::refused(const std::string& token_value) {
  std::lock_guard lock(mutex_);
  // Only the token that was refused is dropped: another thread may have renewed it already.
  if (credentials_ && token_ && token_->value == token_value) token_.reset();
}

net::Request Session::build(const SwiftRequest& request, const Token& token) const {
  net::Request out;
  out.method = request.method;
  out.url = token.storage_url;
  if (!request.container.empty()) out.url += "/" + net::uri_encode(request.container, false);
  if (!request.object.empty()) out.url += "/" + net::uri_encode(request.object, true);
  if (!request.query.empty()) out.url += "?" + request.query;
  out.headers = request.headers;
  out.headers.emplace_back("X-Auth-Token", token.value);
  out.body = request.body;
  if (request.body_stream) {
    out.body_source = request.body_stream();
    out.body_size = request.body_size;
  } else if ((request.method == "PUT" || request.method == "POST") && request.body.empty()) {
    out.body_size = 0;
  }
  return out;
}

template <typename Send>
auto Session::with_retries(const SwiftRequest& request, std::string_view what, Send&& send) {
  bool renewed = false;  // a refused token is renewed once per request, not once per attempt
  const auto attempt = [&] {
    const Token current = token();
    auto response = send(build(request, current));
    if (net::status_of(response) == 401 && credentials_ && !renewed) {
      internal::logger()->info("Swift refused the token ({}); authenticating again", what);
      refused(current.value);
      renewed = true;
      response = send(build(request, token()));
    }
    return response;
  };
  // Memory bodies and body factories start from their first byte at every attempt.
  const bool resendable = !request.body.empty() || request.body_stream != nullptr;
  try {
    return net::with_retries(max_retries_, what, attempt, [resendable](const auto& response) {
      return transient(net::status_of(response), resendable);
    });
  } catch (const net::TransportError& e) {
    throw net::transport_error(what, e);
  }
}

net::Response Session::call(const SwiftRequest& request, std::string_view what) {
  return with_retries(request, what, [this](const net::Request& r) { return http_->perform(r); });
}

std::unique_ptr<net::ResponseStream> Session::open(const SwiftRequest& request,
                                                   std::string_view what) {
  return with_retries(request, what, [this](const net::Request& r) { return http_->open(r); });
}

}  // namespace glance_store::swift
