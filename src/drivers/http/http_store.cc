// The read-only HTTP store: the Store over http_reader's reads; it cannot add or delete.
#include <memory>

#include "drivers/http/http.h"
#include "drivers/http/http_location.h"
#include "drivers/http/http_options.h"
#include "drivers/http/http_reader.h"
#include "glance_store/error.h"

namespace glance_store::http {
namespace {

const HttpLocation& as_http(const StoreLocation& location) {
  const auto* http = dynamic_cast<const HttpLocation*>(&location);
  if (http == nullptr) throw Error(ErrorKind::kBadStoreUri, "not an http:// or https:// location");
  return *http;
}

class HttpStore final : public Store {
 public:
  HttpStore(OptionReader options, std::string backend_id)
      : Store(std::move(options), std::move(backend_id), schemes_of_type("http"),
              bits(Capability::kReadRandom) | bits(Capability::kDriverReusable)) {}

  std::string_view type() const override { return "http"; }
  std::string_view config_name() const override { return "http"; }

  std::unique_ptr<StoreLocation> parse_location(std::string_view uri) const override {
    return HttpLocation::parse(uri);
  }

  // glance_store gives the HTTP store a prefix only in multi-store mode.
  std::string url_prefix() const override { return backend_id().empty() ? "" : "http"; }

 protected:
  // configure() calls this hook whether or not the store can add (this one never can): the
  // clients for reading are made here.
  void configure_add() override {
    clients_ = make_clients(HttpStoreOptions::read(this->options()));
  }

  GetResult do_get(const StoreLocation& location, std::uint64_t offset,
                   std::optional<std::uint64_t> length, const RequestContext*) override {
    return open_image(clients_, as_http(location), offset, length);
  }

  std::uint64_t do_get_size(const StoreLocation& location, const RequestContext*) override {
    return image_size(clients_, as_http(location));
  }

  void do_remove(const StoreLocation&, const RequestContext*) override {
    throw Error(ErrorKind::kStoreDeleteNotSupported, "");
  }

  std::unique_ptr<ImageWriter> begin_add(std::string_view, std::uint64_t,
                                         const RequestContext*) override {
    throw Error(ErrorKind::kStoreAddDisabled, "");
  }

 private:
  Clients clients_;
};

}  // namespace

std::unique_ptr<Store> make_http_store(OptionReader options, std::string backend_id) {
  return std::make_unique<HttpStore>(std::move(options), std::move(backend_id));
}

std::unique_ptr<StoreLocation> parse_http_location(std::string_view uri) {
  return HttpLocation::parse(uri);
}

}  // namespace glance_store::http
