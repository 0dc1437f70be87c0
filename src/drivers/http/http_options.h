// The HTTP store's options (internal): glance's names and defaults, and the clients they make.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "glance_store/config.h"
#include "net/http.h"

namespace glance_store::http {

struct HttpStoreOptions {
  std::optional<std::string> ca_file;  ///< https_ca_certificates_file
  bool insecure = true;                ///< https_insecure
  /// http_proxy_information: a proxy URL by the scheme of the requested URL ("all": any).
  std::map<std::string, std::string> proxies;
  /// http_store_timeout (ours): seconds a request may go without moving a byte.
  long timeout = 60;

  /// Reads them; a malformed value is InvalidOptionValue naming the option.
  static HttpStoreOptions read(const OptionReader& reader);
};

/// One client per scheme a location may have ("http", "https").
using Clients = std::map<std::string, std::shared_ptr<net::HttpClient>>;

/// The clients of these options: each scheme with its proxy, TLS checked as configured.
Clients make_clients(const HttpStoreOptions& options);

}  // namespace glance_store::http
