// Authentication with Swift (v1.0 tempauth, or Keystone v3) and the requests of one account
// made with its token, refreshed before it expires or when refused (internal).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/swift/swift_errors.h"
#include "glance_store/error.h"
#include "net/http.h"

namespace glance_store::swift {

/// Who authenticates, and where.
struct Credentials {
  std::string auth_url;  ///< with its scheme
  bool v1 = false;       ///< Swift's v1.0 auth (tempauth) instead of Keystone v3
  std::string user;      ///< v1: `account:user`; v3: the user name
  std::string key;
  std::optional<std::string> project_name;  ///< v3 password auth: the project to scope to
  std::optional<std::string> project_id;
  std::optional<std::string> user_domain_id;
  std::optional<std::string> user_domain_name;
  std::optional<std::string> project_domain_id;
  std::optional<std::string> project_domain_name;
  std::optional<std::string> application_credential_id;
  std::optional<std::string> application_credential_secret;
  /// v3: a token scoped to this Keystone trust (no project scope) — the trustee's credentials.
  std::optional<std::string> trust_id;
};

/// Which catalog endpoint is the object store.
struct EndpointChoice {
  std::string service_type = "object-store";
  std::string interface = "publicURL";  ///< publicURL, internalURL or adminURL
  std::optional<std::string> region = {};
  std::optional<std::string> override_url = {};  ///< swift_store_endpoint: no catalog lookup
};

struct Token {
  std::string value;
  std::string storage_url;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  std::string user_id = {};  ///< Keystone's id of the user (v3 only)
};

/// A Keystone v3 token and the catalog that came with it.
struct KeystoneAnswer {
  Token token;  ///< its storage_url is not set: the catalog or an override gives it
  nlohmann::json catalog;
};

/// The answer to a v3 token request: `subject_token` is its X-Subject-Token header; the body
/// gives the expiry, the user and the catalog. nullopt when the body holds no token object.
std::optional<KeystoneAnswer> parse_keystone_answer(std::string subject_token,
                                                    std::string_view body);

/// The object-store URL in a Keystone catalog (v3 or v2 form), or nullopt.
std::optional<std::string> find_endpoint(const nlohmann::json& catalog,
                                         const EndpointChoice& choice);

/// The Keystone v3 token URL for an auth address: `…/v3/auth/tokens` (a `/v2.0` suffix is
/// replaced, a bare address gets `/v3`).
std::string keystone_tokens_url(std::string_view auth_url);

/// A Keystone v3 token of `credentials`, without looking at its catalog. Throws as
/// authenticate().
Token keystone_token(net::HttpClient& http, const Credentials& credentials);

/// Authenticates once. Throws Error: AuthorizationFailure when the credentials are refused,
/// BackendException when no endpoint is found, RemoteServiceUnavailable when the auth service
/// cannot be reached.
Token authenticate(net::HttpClient& http, const Credentials& credentials,
                   const EndpointChoice& choice);

/// One request to the object store, relative to the account's storage URL.
struct SwiftRequest {
  std::string method = "GET";
  std::string container = {};
  std::string object = {};  ///< empty: the container itself
  std::string query = {};   ///< without '?', already encoded
  net::Headers headers = {};
  std::span<const std::byte> body = {};
  /// A streamed body instead: each attempt calls this for a source that starts from the first
  /// byte again, so a retried request sends the whole body; `body_size` is its length.
  std::function<net::BodySource()> body_stream = {};
  std::optional<std::uint64_t> body_size = {};
};

/// The requests of one account. With credentials, the token is renewed when it expires
/// within `expire_soon` or when the server refuses it (401); with a fixed token (a user's, in
/// multi-tenant mode) there is nothing to renew.
class Session {
 public:
  Session(std::shared_ptr<net::HttpClient> http, Credentials credentials, EndpointChoice choice,
          std::chrono::seconds expire_soon, int max_retries);
  Session(std::shared_ptr<net::HttpClient> http, std::string token, std::string storage_url,
          int max_retries);
  /// Runs the close action, if any.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// An action run when the last user of the session lets it go (a per-operation Keystone
  /// trust is deleted then); it may still send requests. Exceptions are logged.
  void on_close(std::function<void(Session&)> action) { on_close_ = std::move(action); }

  /// A token valid for at least expire_soon (authenticating when needed).
  Token token();
  /// Sends a request (body in memory or restartable): transient failures (transport, 5xx,
  /// 429) are retried with backoff, a 401 renews the token once. Throws Error (transport
  /// failures as RemoteServiceUnavailable, TLS ones as BadStoreConfiguration) prefixed by
  /// `what`; any HTTP status is returned.
  net::Response call(const SwiftRequest& request, std::string_view what);
  /// As call(), for a response read as a stream.
  std::unique_ptr<net::ResponseStream> open(const SwiftRequest& request, std::string_view what);
  /// The request with the token, for a caller that sends it itself (a streamed body).
  net::Request build(const SwiftRequest& request, const Token& token) const;

  net::HttpClient& http() { return *http_; }
  int max_retries() const { return max_retries_; }
  /// Whether it can get a new token (it has credentials), so requests may go on past the
  /// expiry of the current one.
  bool renewable() const { return credentials_.has_value(); }
  /// Tokens obtained so far (tests check renewals).
  int authentications() const;

 private:
  void refused(const std::string& token_value);
  template <typename Send>
  auto with_retries(const SwiftRequest& request, std::string_view what, Send&& send);

  std::shared_ptr<net::HttpClient> http_;
  std::optional<Credentials> credentials_;
  EndpointChoice choice_;
  std::chrono::seconds expire_soon_{60};
  int max_retries_;
  mutable std::mutex mutex_;  // guards token_ and authentications_
  std::optional<Token> token_;
  int authentications_ = 0;
  std::function<void(Session&)> on_close_;
};

/// An object as a container listing shows it.
struct ObjectEntry {
  std::string name;
  std::uint64_t bytes = 0;
  std::string hash;  ///< its ETag: the md5 of a plain object's content
  /// When it was last written, as listed: ISO 8601 in UTC without a zone
  /// ("2026-12-02T05:00:00.123456"); "" when the listing does not say.
  std::string last_modified = {};
};

/// One page of a JSON container listing. Throws Error (BackendException, prefixed by `what`)
/// when it is not a JSON array of objects each with a name and a size.
std::vector<ObjectEntry> parse_listing(std::string_view body, const std::string& what);

/// The objects of `container` whose names start with `prefix`, every page of them, in listing
/// order; nullopt when the container does not exist. Throws Error when the listing fails or is
/// malformed (an entry without a name or a size).
std::optional<std::vector<ObjectEntry>> list_entries(Session& session, const std::string& container,
                                                     const std::string& prefix);
/// Their names only (none when the container does not exist).
std::vector<std::string> list_objects(Session& session, const std::string& container,
                                      const std::string& prefix);

}  // namespace glance_store::swift
