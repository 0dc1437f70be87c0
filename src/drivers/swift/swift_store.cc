#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>

#include "core/log.h"
#include "core/timestamp.h"
#include "core/url.h"
#include "drivers/swift/swift.h"
#include "drivers/swift/swift_location.h"
#include "drivers/swift/swift_options.h"
#include "drivers/swift/swift_reader.h"
#include "drivers/swift/swift_references.h"
#include "drivers/swift/swift_session.h"
#include "drivers/swift/swift_trust.h"
#include "drivers/swift/swift_writer.h"
#include "glance_store/error.h"
#include "net/transfer.h"

namespace glance_store::swift {
namespace {

constexpr std::uint32_t kCapabilities =
    bits(Capability::kReadRandom) | bits(Capability::kWriteAccess);

// The location of one object: glance's parser also takes `…/container/` (an empty object
// name), which would address the container itself.
const SwiftLocation& as_swift(const StoreLocation& location) {
  const auto* loc = dynamic_cast<const SwiftLocation*>(&location);
  if (loc == nullptr) throw Error(ErrorKind::kBadStoreUri, "not a Swift location");
  if (internal::names_no_object(loc->container()) || internal::names_no_object(loc->object())) {
    throw Error(ErrorKind::kBadStoreUri,
                "The Swift location names no object: its container and object names must not be "
                "empty, '.' or '..'");
  }
  return *loc;
}

// The longest name an add gives an object: a segment's, `<id>/<32 hex>/<8 digits>`.
constexpr std::size_t kSegmentSuffix = 1 + 32 + 1 + 8;

void check_names(std::string_view image_id, const std::string& container) {
  if (image_id.size() + kSegmentSuffix > kMaxObjectName) {
    throw Error(ErrorKind::kInvalid,
                "Invalid image id: it is longer than " +
                    std::to_string(kMaxObjectName - kSegmentSuffix) +
                    " bytes, the most that leaves room for its segments' names in Swift's " +
                    std::to_string(kMaxObjectName) + "-byte object names");
  }
  if (container.size() > kMaxContainerName) {
    throw Error(ErrorKind::kInvalid, "Invalid image id: the container it would go in, " +
                                         container + ", is longer than Swift's " +
                                         std::to_string(kMaxContainerName) + " bytes");
  }
}

// A reference's user as a Keystone trustee: `project:user` and key, or an application
// credential.
Credentials trustee_credentials(const SwiftReference& ref) {
  Credentials c;
  c.auth_url = ref.auth_address.starts_with("http://") || ref.auth_address.starts_with("https://")
                   ? ref.auth_address
                   : "https://" + ref.auth_address;
  c.user_domain_id = ref.user_domain_id;
  c.user_domain_name = ref.user_domain_name;
  c.project_domain_id = ref.project_domain_id;
  c.project_domain_name = ref.project_domain_name;
  if (ref.uses_application_credential()) {
    c.application_credential_id = ref.application_credential_id;
    c.application_credential_secret = ref.application_credential_secret;
    return c;
  }
  const std::string user = ref.user.value_or("");
  const auto colon = user.find(':');
  c.user = colon == std::string::npos ? user : user.substr(colon + 1);
  if (colon != std::string::npos) c.project_name = user.substr(0, colon);
  c.key = ref.key.value_or("");
  return c;
}

// The segment prefix `<id>/<token>/` of one of our segment names, `<id>/<token>/<8 digits>`
// (the token 32 lowercase hex digits, see swift_writer.cc), or nullopt for any other name:
// glance_store's `<id>-00001` segments, images, manifests.
std::optional<std::string> segment_prefix_of(std::string_view name) {
  const auto is_token = [](std::string_view s) {
    return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
  };
  const auto first = name.find('/');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  const std::string_view token = name.substr(first + 1, 32);
  const std::string_view number = name.substr(std::min(name.size(), first + 34));
  if (!is_token(token) || name.size() != first + 1 + 32 + 1 + 8 || name[first + 33] != '/' ||
      !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::string(name.substr(0, first + 34));
}

// The account's containers whose names start with `prefix`, every page of them.
std::vector<std::string> list_containers(Session& session, const std::string& prefix) {
  const std::string what = "Listing the containers " + prefix + "*";
  std::vector<std::string> out;
  for (;;) {
    const std::string marker = out.empty() ? "" : out.back();
    const std::string query = "format=json&prefix=" + net::uri_encode(prefix, false) +
                              "&marker=" + net::uri_encode(marker, false);
    const net::Response list = session.call({.method = "GET", .query = query}, what);
    if (list.status == 204) return out;
    const auto entries = nlohmann::json::parse(list.body, nullptr, false);
    if (list.status != 200 || !entries.is_array()) throw read_error(what, list.status, list.body);
    if (entries.empty()) return out;
    for (const auto& entry : entries) {
      const auto name = entry.find("name");
      if (!entry.is_object() || name == entry.end() || !name->is_string() ||
          name->get_ref<const std::string&>().empty()) {
        throw Error(ErrorKind::kBackendException, what + ": an entry has no name");
      }
      out.push_back(name->get<std::string>());
    }
  }
}

class SwiftStore final : public Store {
 public:
  SwiftStore(OptionReader options, std::string backend_id)
      : Store(std::move(options), std::move(backend_id), schemes_of_type("swift"), kCapabilities) {}

  std::string_view type() const override { return "swift"; }
  std::string_view config_name() const override { return "swift"; }

  std::unique_ptr<StoreLocation> parse_location(std::string_view uri) const override {
    std::lock_guard lock(mutex_);
    return SwiftLocation::parse(uri, references_);
  }

  std::string url_prefix() const override {
    std::lock_guard lock(mutex_);
    if (options_.multi_tenant) return "";
    const auto ref = references_.find(options_.default_reference);
    if (ref == references_.end() || !options_.container) return "";
    std::string uri =
        SwiftLocation::for_new_image(options_.default_reference, ref->second,
                                     options_.config_file.has_value(), *options_.container, "")
            ->uri();
    uri.pop_back();  // the empty object's '/'
    return uri;
  }

  void set_acls(const StoreLocation& location, bool is_public,
                const std::vector<std::string>& read_tenants,
                const std::vector<std::string>& write_tenants,
                const RequestContext* context) override {
    if (!options_.multi_tenant) {
      Store::set_acls(location, is_public, read_tenants, write_tenants, context);
      return;
    }
    const auto& loc = as_swift(location);
    auto session = session_for(loc, context);
    const auto join = [](const std::vector<std::string>& tenants) {
      std::string out;
      for (const auto& t : tenants) out += (out.empty() ? "" : ",") + t + ":*";
      return out;
    };
    std::vector<std::string> writers = write_tenants;
    writers.insert(writers.end(), options_.admin_tenants.begin(), options_.admin_tenants.end());
    SwiftRequest post{.method = "POST", .container = loc.container()};
    post.headers = {{"X-Container-Read", is_public ? "*:*" : join(read_tenants)},
                    {"X-Container-Write", join(writers)}};
    const net::Response response = session->call(post, "Setting the ACLs of " + loc.container());
    if (response.status == 404)
      throw Error(ErrorKind::kNotFound, "Swift could not find image at URI.");
    if (response.status >= 300) {
      throw Error(ErrorKind::kBackendException,
                  "Setting the ACLs of container " + loc.container() +
                      " failed: " + describe_failure(response.status, response.body));
    }
  }

  // Single-tenant: the segment groups `<id>/<token>/` of our adds in the store's containers
  // whose manifest `<id>` is missing or points elsewhere (an add killed, or one that lost a
  // race and could not remove them). A live add's segments cannot be told from a dead one's
  // until its manifest is stored: only the age of their newest segment protects them.
  std::vector<Leftover> find_leftovers(std::int64_t min_age_seconds) override {
    const SwiftOptions options = current_options();
    if (options.multi_tenant) return {};
    auto session = account_session(options);
    const std::int64_t now = std::time(nullptr);
    std::vector<Leftover> out;
    for (const std::string& container : leftover_containers(*session, options)) {
      std::map<std::string, std::int64_t> newest;  // of each group: its newest segment's time
      const auto entries = list_entries(*session, container, "");
      if (!entries) continue;  // deleted meanwhile
      for (const ObjectEntry& entry : *entries) {
        const auto prefix = segment_prefix_of(entry.name);
        if (!prefix) continue;
        const auto modified = internal::parse_utc_timestamp(entry.last_modified);
        if (!modified) {
          throw Error(ErrorKind::kBackendException,
                      "Listing " + container + ": segment " + entry.name + " has no last_modified");
        }
        std::int64_t& time = newest[*prefix];
        time = std::max(time, *modified);
      }
      for (const auto& [prefix, time] : newest) {
        const std::int64_t age = std::max<std::int64_t>(0, now - time);
        if (age < min_age_seconds || manifest_points_at(*session, container, prefix)) continue;
        out.push_back({"segments", container + "/" + prefix, prefix.substr(0, prefix.find('/')),
                       age, container});
      }
    }
    return out;
  }

  // Deletes every segment of the group, listed again. Refused when the group's manifest now
  // points at it (an add that completed since it was listed).
  void remove_leftover(const Leftover& leftover) override {
    const SwiftOptions options = current_options();
    if (options.multi_tenant) {
      throw Error(ErrorKind::kBackendException, multi_tenant_out_of_reach());
    }
    const std::string& container = leftover.detail;
    const std::string start = container + "/";
    const std::string prefix =
        leftover.name.starts_with(start) ? leftover.name.substr(start.size()) : "";
    if (!is_store_container(container, options) ||
        segment_prefix_of(prefix + "00000001") != prefix) {
      throw Error(ErrorKind::kInvalid, "Not a segment group of this store: " + leftover.name);
    }
    auto session = account_session(options);
    if (manifest_points_at(*session, container, prefix)) {
      throw Error(ErrorKind::kInUseByStore, "The segments " + leftover.name +
                                                " are an image's now: its manifest points at them");
    }
    for (const std::string& name : list_objects(*session, container, prefix)) {
      if (!segment_prefix_of(name)) continue;
      const net::Response gone = session->call(
          {.method = "DELETE", .container = container, .object = name}, "Deleting " + name);
      if (gone.status >= 300 && gone.status != 404) throw delete_error(name, gone);
    }
  }

  std::string leftovers_out_of_reach() const override {
    std::lock_guard lock(mutex_);
    return options_.multi_tenant ? multi_tenant_out_of_reach() : "";
  }

 protected:
  void configure_add() override {
    SwiftOptions options = SwiftOptions::read(this->options());
    net::HttpOptions http;
    http.ca_file = options.cacert;
    http.verify_tls = !options.auth_insecure;
    http.stall_timeout_s = options.timeout;
    http.connect_timeout_s = std::min<std::int64_t>(options.timeout, 30);
    {
      std::lock_guard lock(mutex_);
      options_ = options;
      http_ = std::make_shared<net::HttpClient>(std::move(http));
      sessions_.clear();
      references_.clear();
    }
    if (options.multi_tenant && options.config_file) {
      throw bad_store_configuration_error(
          "swift",
          "Swift multi-tenant store cannot be configured to work with swift+config. The Swift "
          "multi-tenant store keeps images in the account of the user who adds them; "
          "swift_store_config_file names accounts for a single-tenant store: unset one of them.");
    }
    SwiftReferences references = read_references(this->options());
    {
      std::lock_guard lock(mutex_);
      references_ = references;
    }
    if (options.buffer_on_upload) check_buffer_dir(options);
    if (options.multi_tenant) return;
    const auto ref = references.find(options.default_reference);
    if (ref == references.end() || ref->second.auth_address.empty()) {
      throw bad_store_configuration_error("swift",
                                          "A value for swift_store_auth_address is required.");
    }
    const SwiftReference& r = ref->second;
    const bool password = (r.user && !r.user->empty()) || (r.key && !r.key->empty());
    if (!password && !r.uses_application_credential()) {
      throw bad_store_configuration_error(
          "swift",
          "A value for swift_store_ref_params (user/key or application credentials) is required.");
    }
  }

  GetResult do_get(const StoreLocation& location, std::uint64_t offset,
                   std::optional<std::uint64_t> length, const RequestContext* context) override {
    const auto& loc = as_swift(location);
    const SwiftOptions options = current_options();
    // Only a read that may resume gets a token it can renew in multi-tenant mode (a trust, as
    // glance_store); without one, a segmented image is read through the proxy in one GET.
    auto session = session_for(loc, context, options.retry_get_count > 0);
    const int resumes = static_cast<int>(std::max(options.retry_get_count, options.max_retries));
    return open_object(session, loc.container(), loc.object(), offset, length, resumes);
  }

  std::uint64_t do_get_size(const StoreLocation& location, const RequestContext* context) override {
    const auto& loc = as_swift(location);
    const net::Response head = head_object(*session_for(loc, context), loc);
    if (head.status == 404)
      throw Error(ErrorKind::kNotFound, "Swift could not find object " + loc.object() + ".");
    const auto size = net::parse_u64(head.header("content-length"));
    if (!size) {
      throw Error(ErrorKind::kBackendException, "Swift HEAD of " + loc.object() + " gave no size");
    }
    return *size;
  }

  void do_remove(const StoreLocation& location, const RequestContext* context) override {
    const auto& loc = as_swift(location);
    auto session = session_for(loc, context);
    const net::Response head = head_object(*session, loc);
    const std::string* slo = head.header("x-static-large-object");
    std::string slo_value = slo ? *slo : "";
    std::transform(slo_value.begin(), slo_value.end(), slo_value.begin(), ::tolower);
    SwiftRequest remove{.method = "DELETE", .container = loc.container(), .object = loc.object()};
    if (head.status != 404 && slo_value == "true") {
      remove.query = "multipart-manifest=delete";
    } else if (const std::string* dlo = head.header("x-object-manifest");
               head.status != 404 && dlo != nullptr) {
      delete_segments(*session, *dlo);
    }
    const net::Response response = session->call(remove, "Deleting Swift object " + loc.object());
    if (response.status == 404)
      throw Error(ErrorKind::kNotFound, "Swift could not find image at URI.");
    if (response.status >= 300) throw delete_error(loc.object(), response);
    if (options_.multi_tenant && !loc.user()) {
      // Multi-tenant images have a container each: it goes with them.
      const net::Response gone = session->call({.method = "DELETE", .container = loc.container()},
                                               "Deleting container " + loc.container());
      if (gone.status >= 300 && gone.status != 404) {
        internal::logger()->error("Could not delete Swift container {}: {}", loc.container(),
                                  describe_failure(gone.status, gone.body));
      }
    }
  }

  std::unique_ptr<ImageWriter> begin_add(std::string_view image_id, std::uint64_t size,
                                         const RequestContext* context) override {
    const SwiftOptions options = current_options();
    std::unique_ptr<SwiftLocation> location;
    if (options.multi_tenant) {
      if (!options.container) {
        throw bad_store_configuration_error(
            "swift", "swift_store_container must be set in the configuration.");
      }
      location = SwiftLocation::for_storage_url(tenant_endpoint(options, context),
                                                *options.container + "_" + std::string(image_id),
                                                std::string(image_id));
    } else {
      std::lock_guard lock(mutex_);
      const SwiftReference& ref = references_.at(options.default_reference);
      location = SwiftLocation::for_new_image(
          options.default_reference, ref, options.config_file.has_value(),
          container_for_image(options.container.value_or("glance"), image_id,
                              options.multiple_containers_seed),
          std::string(image_id));
    }
    check_names(image_id, location->container());
    const bool segmented = size == 0 || size >= options.large_object_bytes();
    auto session = session_for(*location, context, segmented);
    ensure_container(*session, location->container(), options);
    const net::Response head = head_object(*session, *location);
    if (head.status != 404)
      throw Error(ErrorKind::kDuplicate, "Swift already has an image at this location");

    UploadTarget target{session, location->container(), location->object(), location->uri()};
    if (!segmented) return make_object_writer(std::move(target), size);
    return make_segmented_writer(
        std::move(target),
        {.segment_size = options.segment_bytes(),
         .image_size = size,
         .parallel = static_cast<std::size_t>(options.upload_concurrency),
         .spool_dir = options.buffer_on_upload ? options.upload_buffer_dir : std::nullopt,
         .memory = pipeline_options()});
  }

 private:
  static std::string multi_tenant_out_of_reach() {
    return "multi-tenant Swift keeps each image in the account of the user who added it, which "
           "this store cannot list without that user's token";
  }

  // The session of the default reference's account, where a single-tenant store writes.
  std::shared_ptr<Session> account_session(const SwiftOptions& options) {
    std::unique_ptr<SwiftLocation> location;
    {
      std::lock_guard lock(mutex_);
      const auto ref = references_.find(options.default_reference);
      if (ref == references_.end() || ref->second.auth_address.empty() || !http_) {
        throw bad_store_configuration_error("swift",
                                            "A value for swift_store_auth_address is required.");
      }
      location = SwiftLocation::for_new_image(options.default_reference, ref->second,
                                              options.config_file.has_value(),
                                              options.container.value_or("glance"), "");
    }
    return session_for(*location, nullptr);
  }

  // Whether an add of some image id would write in `container`.
  static bool is_store_container(const std::string& container, const SwiftOptions& options) {
    const std::string base = options.container.value_or("glance");
    if (options.multiple_containers_seed <= 0) return container == base;
    const std::string start = base + "_";
    if (!container.starts_with(start) || container.size() == start.size()) return false;
    // The suffix is an id's own container suffix when it gives itself back.
    return container_for_image(base, container.substr(start.size()),
                               options.multiple_containers_seed) == container;
  }

  static std::vector<std::string> leftover_containers(Session& session,
                                                      const SwiftOptions& options) {
    const std::string base = options.container.value_or("glance");
    if (options.multiple_containers_seed <= 0) return {base};
    std::vector<std::string> out;
    for (std::string& name : list_containers(session, base + "_")) {
      if (is_store_container(name, options)) out.push_back(std::move(name));
    }
    return out;
  }

  // Whether the manifest of the group's image, `<id>`, points at the group `<id>/<token>/`.
  static bool manifest_points_at(Session& session, const std::string& container,
                                 const std::string& prefix) {
    const std::string object = prefix.substr(0, prefix.find('/'));
    const net::Response head = session.call({.method = "HEAD",
                                             .container = container,
                                             .object = object,
                                             .query = "multipart-manifest=get"},
                                            "Swift HEAD of " + object);
    if (head.status == 404) return false;
    if (head.status / 100 != 2) {
      throw read_error("Swift object " + container + "/" + object, head.status, head.body);
    }
    const std::string* value = head.header("x-object-manifest");
    if (value == nullptr) return false;
    const auto target = parse_object_manifest(*value);
    return target && target->container == container && target->prefix == prefix;
  }

  SwiftOptions current_options() const {
    std::lock_guard lock(mutex_);
    return options_;
  }

  static void check_buffer_dir(const SwiftOptions& options) {
    if (!options.upload_buffer_dir) {
      throw bad_store_configuration_error(
          "swift",
          "Configuration option \"swift_upload_buffer_dir\" is not set. Please set it to a valid "
          "path to buffer during Swift uploads.");
    }
    if (::access(options.upload_buffer_dir->c_str(), W_OK | X_OK) != 0) {
      throw bad_store_configuration_error(
          "swift", "Unable to use buffer directory set with \"swift_upload_buffer_dir\". Error: " +
                       *options.upload_buffer_dir + " is not a writable directory");
    }
  }

  static EndpointChoice endpoint_choice(const SwiftOptions& options) {
    return {options.service_type, options.endpoint_type, options.region, options.endpoint};
  }

  // Where a multi-tenant add goes: swift_store_endpoint, or the user's catalog.
  std::string tenant_endpoint(const SwiftOptions& options, const RequestContext* context) const {
    if (context == nullptr) {
      throw bad_store_configuration_error("swift",
                                          "Multi-tenant Swift storage requires a context.");
    }
    if (options.endpoint) return *options.endpoint;
    if (context->service_catalog.is_null() || context->service_catalog.empty()) {
      throw bad_store_configuration_error("swift",
                                          "Multi-tenant Swift storage requires a service catalog.");
    }
    const auto url = find_endpoint(context->service_catalog, endpoint_choice(options));
    if (!url) {
      throw Error(ErrorKind::kBackendException, "Cannot find swift service endpoint : no " +
                                                    options.service_type +
                                                    " endpoint in the request context's catalog");
    }
    return *url;
  }

  // The credentials a location authenticates with: its reference's, or its own user and key
  // with the default reference's auth version and domains (as glance_store).
  Credentials credentials_for(const SwiftLocation& loc, const SwiftOptions& options) const {
    const SwiftReference* ref = loc.reference();
    const auto fallback = references_.find(options.default_reference);
    const SwiftReference* defaults = ref                             ? ref
                                     : fallback != references_.end() ? &fallback->second
                                                                     : nullptr;
    Credentials c;
    c.auth_url = loc.swift_url();
    c.v1 = defaults ? defaults->is_v1() : false;
    if (defaults) {
      c.user_domain_id = defaults->user_domain_id;
      c.user_domain_name = defaults->user_domain_name;
      c.project_domain_id = defaults->project_domain_id;
      c.project_domain_name = defaults->project_domain_name;
    }
    if (ref && ref->uses_application_credential()) {
      c.application_credential_id = ref->application_credential_id;
      c.application_credential_secret = ref->application_credential_secret;
      c.project_name = ref->project_name;
      c.project_id = ref->project_id;
      return c;
    }
    if (!loc.user() || loc.user()->empty()) {
      // A location written without credentials by a store using application credentials.
      // Only where that reference authenticates: a location naming another host never gets
      // the configured secret.
      if (!ref && defaults && defaults->uses_application_credential() &&
          same_auth_service(loc.swift_url(), defaults->auth_address)) {
        c.application_credential_id = defaults->application_credential_id;
        c.application_credential_secret = defaults->application_credential_secret;
        c.project_name = defaults->project_name;
        c.project_id = defaults->project_id;
        return c;
      }
      throw Error(ErrorKind::kBadStoreUri,
                  "Location is missing user:password or application credential information.");
    }
    c.key = loc.key().value_or("");
    if (!ref && c.key == "***") {
      // The location as `add` prints it: the default reference's key, where it belongs.
      if (defaults == nullptr || defaults->user != loc.user() ||
          !same_auth_service(loc.swift_url(), defaults->auth_address)) {
        throw Error(ErrorKind::kBadStoreUri,
                    "The Swift location's key is masked ('***'), and its user and auth address "
                    "are not this store's: use the full location, which `add "
                    "--show-credentials` prints");
      }
      c.key = defaults->key.value_or("");
    }
    if (c.v1) {
      c.user = *loc.user();
      return c;
    }
    const std::string& user = *loc.user();
    const auto colon = user.find(':');
    if (colon == std::string::npos || user.find(':', colon + 1) != std::string::npos) {
      throw Error(ErrorKind::kBadStoreUri, "Badly formed tenant:user '" + user + "' in Swift URI");
    }
    c.project_name = user.substr(0, colon);
    c.user = user.substr(colon + 1);
    return c;
  }

  // Sessions are kept per account, so tokens are reused from one operation to the next. A
  // multi-tenant operation uses the user's token; one that may outlive it (`renewable`) gets a
  // session of its own through a Keystone trust when swift_store_use_trusts allows.
  std::shared_ptr<Session> session_for(const SwiftLocation& loc, const RequestContext* context,
                                       bool renewable = false) {
    std::unique_lock lock(mutex_);
    const int retries = static_cast<int>(options_.max_retries);
    const bool has_credentials = loc.reference() != nullptr || (loc.user() && !loc.user()->empty());
    if (options_.multi_tenant && !has_credentials) {
      if (context == nullptr || context->auth_token.empty()) {
        throw bad_store_configuration_error("swift",
                                            "Multi-tenant Swift storage requires a user context.");
      }
      const auto ref = references_.find(options_.default_reference);
      if (renewable && options_.use_trusts && ref == references_.end()) {
        internal::logger()->debug("No default_swift_reference to make a Keystone trust with");
      } else if (renewable && options_.use_trusts &&
                 !is_users_object_store(loc.swift_url(), options_, *context)) {
        // The trust's tokens come from the configured trustee: they go only to the object
        // store the user's catalog (or swift_store_endpoint) names, not to any host a location
        // names.
        internal::logger()->warn(
            "The location's storage URL is not the object store of the request's catalog: no "
            "Keystone trust for it; the transfer goes on with the user's token");
      } else if (renewable && options_.use_trusts) {
        // Keystone is asked several things: not under the store's lock.
        const SwiftOptions options = options_;
        const SwiftReference trustee = ref->second;
        const std::shared_ptr<net::HttpClient> http = http_;
        lock.unlock();
        try {
          return trusted_session(http, options, trustee, loc, *context);
        } catch (const Error& e) {
          internal::logger()->warn(
              "No Keystone trust for this transfer ({}); it goes on with the user's token, which "
              "cannot be renewed",
              e.message());
        }
        return std::make_shared<Session>(http, context->auth_token, loc.swift_url(), retries);
      }
      return std::make_shared<Session>(http_, context->auth_token, loc.swift_url(), retries);
    }
    const Credentials c = credentials_for(loc, options_);
    const std::string key = c.auth_url + '\n' + c.user + '\n' + c.key + '\n' +
                            c.application_credential_id.value_or("") + '\n' +
                            c.project_name.value_or("");
    auto& session = sessions_[key];
    if (!session) {
      session =
          std::make_shared<Session>(http_, c, endpoint_choice(options_),
                                    std::chrono::seconds(options_.expire_soon_interval), retries);
    }
    return session;
  }

  // The session's tokens come through a trust from the user to the default reference's user;
  // the trust is deleted when the last user of the session lets it go.
  static std::shared_ptr<Session> trusted_session(std::shared_ptr<net::HttpClient> http,
                                                  const SwiftOptions& options,
                                                  const SwiftReference& trustee,
                                                  const SwiftLocation& loc,
                                                  const RequestContext& user) {
    if (trustee.is_v1()) {
      throw bad_store_configuration_error(
          "swift", "Keystone trusts need a default_swift_reference with Keystone credentials");
    }
    const Trust trust = create_trust(*http, trustee_credentials(trustee), user);
    EndpointChoice choice = endpoint_choice(options);
    choice.override_url = loc.swift_url();
    auto session = std::make_shared<Session>(std::move(http), trust.credentials, std::move(choice),
                                             std::chrono::seconds(options.expire_soon_interval),
                                             static_cast<int>(options.max_retries));
    session->on_close([trust, user_token = user.auth_token](Session& closing) {
      // With a token of the trust first: the user's may have expired during the transfer.
      std::string token;
      try {
        token = closing.token().value;
      } catch (const std::exception& e) {
        internal::logger()->warn("No token of trust {} to delete it with: {}", trust.id, e.what());
      }
      if (!token.empty() && delete_trust(closing.http(), trust, token)) return;
      delete_trust(closing.http(), trust, user_token);
    });
    return session;
  }

  static bool same_auth_service(const std::string& url, const std::string& auth_address) {
    const std::string address =
        auth_address.starts_with("http://") || auth_address.starts_with("https://")
            ? auth_address
            : "https://" + auth_address;
    return internal::url_origin(url) == internal::url_origin(address);
  }

  bool is_users_object_store(const std::string& url, const SwiftOptions& options,
                             const RequestContext& context) const {
    std::optional<std::string> endpoint = options.endpoint;
    if (!endpoint && !context.service_catalog.is_null()) {
      endpoint = find_endpoint(context.service_catalog, endpoint_choice(options));
    }
    return endpoint && internal::url_origin(url) == internal::url_origin(*endpoint);
  }

  static net::Response head_object(Session& session, const SwiftLocation& loc) {
    net::Response head =
        session.call({.method = "HEAD", .container = loc.container(), .object = loc.object()},
                     "Swift HEAD of " + loc.object());
    if (head.status == 200 || head.status == 204 || head.status == 404) return head;
    throw read_error("Swift object " + loc.container() + "/" + loc.object(), head.status,
                     head.body);
  }

  static Error delete_error(const std::string& object, const net::Response& response) {
    return read_error("Failed to delete Swift object " + object, response);
  }

  // A DLO's segments: every object of its container named with its prefix.
  static void delete_segments(Session& session, const std::string& manifest) {
    const auto target = parse_object_manifest(manifest);
    if (!target) return;
    for (const std::string& name : list_objects(session, target->container, target->prefix)) {
      const net::Response gone = session.call(
          {.method = "DELETE", .container = target->container, .object = name}, "Deleting " + name);
      if (gone.status >= 300 && gone.status != 404) {
        internal::logger()->error("Unable to delete segment {}: {}", name,
                                  describe_failure(gone.status, gone.body));
      }
    }
  }

  static void ensure_container(Session& session, const std::string& container,
                               const SwiftOptions& options) {
    const net::Response head =
        session.call({.method = "HEAD", .container = container}, "Swift HEAD of " + container);
    if (head.status == 204 || head.status == 200) return;
    if (head.status != 404) {
      throw read_error("Swift HEAD of container " + container, head);
    }
    if (!options.create_container_on_put) {
      throw Error(ErrorKind::kBackendException,
                  "The container " + container +
                      " does not exist in Swift. Please set the "
                      "swift_store_create_container_on_put option to add container to Swift "
                      "automatically.");
    }
    const net::Response put =
        session.call({.method = "PUT", .container = container}, "Creating container " + container);
    if (put.status != 201 && put.status != 202) {
      throw Error(ErrorKind::kBackendException,
                  "Failed to add container to Swift.\nGot error from Swift: " +
                      describe_failure(put.status, put.body) + ".");
    }
  }

  mutable std::mutex mutex_;  // guards the members below
  SwiftOptions options_;
  SwiftReferences references_;
  std::shared_ptr<net::HttpClient> http_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
};

}  // namespace

std::unique_ptr<Store> make_swift_store(OptionReader options, std::string backend_id) {
  return std::make_unique<SwiftStore>(std::move(options), std::move(backend_id));
}

std::unique_ptr<StoreLocation> parse_swift_location(std::string_view uri) {
  return SwiftLocation::parse(uri, {});
}

}  // namespace glance_store::swift
