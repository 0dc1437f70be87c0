#include "drivers/http/http_options.h"

#include <algorithm>

#include "core/url.h"
#include "glance_store/error.h"
#include "glance_store/location.h"

namespace glance_store::http {
namespace {

// oslo.config's DictOpt: "key:value" pairs separated by commas, split at the first ':'.
std::map<std::string, std::string> read_proxies(const OptionReader& reader) {
  std::map<std::string, std::string> out;
  for (const auto& item : reader.get_list("http_proxy_information")) {
    const std::size_t colon = item.find(':');
    if (colon == std::string::npos) {
      // Built by appending: GCC 12 misreports "literal" + std::string here (-Wrestrict, 105651).
      std::string message = "'";
      message += redact_uri(item);
      reader.fail("http_proxy_information", message + "' is not scheme:proxy");
    }
    std::string key(internal::strip_py_whitespace(std::string_view(item).substr(0, colon)));
    std::string value(internal::strip_py_whitespace(std::string_view(item).substr(colon + 1)));
    // oslo.config's own refusals.
    if (key.empty()) reader.fail("http_proxy_information", "Key name should not be empty");
    if (out.contains(key)) reader.fail("http_proxy_information", "Duplicate key " + key);
    // As requests does: a proxy written without a scheme is an http:// one.
    if (!value.empty() && value.find("://") == std::string::npos) value.insert(0, "http://");
    out[key] = value;
  }
  return out;
}

}  // namespace

HttpStoreOptions HttpStoreOptions::read(const OptionReader& reader) {
  HttpStoreOptions options;
  options.ca_file = reader.get_path("https_ca_certificates_file");
  options.insecure = reader.get_bool("https_insecure", true);
  options.proxies = read_proxies(reader);
  options.timeout = static_cast<long>(reader.get_int("http_store_timeout", 60, 1));
  return options;
}

Clients make_clients(const HttpStoreOptions& options) {
  Clients clients;
  for (const char* scheme : {"http", "https"}) {
    net::HttpOptions client_options;
    // A CA file is the trust store whatever https_insecure says.
    client_options.ca_file = options.ca_file.value_or("");
    client_options.verify_tls = options.ca_file.has_value() || !options.insecure;
    client_options.stall_timeout_s = options.timeout;
    client_options.connect_timeout_s = std::min(options.timeout, 30L);
    if (auto it = options.proxies.find(scheme); it != options.proxies.end()) {
      client_options.proxy = it->second;
    } else if (auto all = options.proxies.find("all"); all != options.proxies.end()) {
      client_options.proxy = all->second;
    }
    clients[scheme] = std::make_shared<net::HttpClient>(std::move(client_options));
  }
  return clients;
}

}  // namespace glance_store::http
