#include "drivers/rbd/rbd_location.h"

#include <vector>

#include "core/url.h"
#include "glance_store/error.h"

namespace glance_store::rbd {
namespace {

constexpr std::string_view kPrefix = "rbd://";

// Python's quote(component, safe=''): every byte but letters, digits and "_.-~".
std::string quote_component(std::string_view component) {
  return internal::percent_quote(component, "");
}

}  // namespace

RbdLocation::RbdLocation(std::string fsid, std::string pool, std::string image,
                         std::string snapshot)
    : fsid_(std::move(fsid)),
      pool_(std::move(pool)),
      image_(std::move(image)),
      snapshot_(std::move(snapshot)) {}

std::unique_ptr<RbdLocation> RbdLocation::parse(std::string_view uri) {
  // As glance_store: the prefix is checked as written (an upper-case "RBD://" is dispatched
  // here, then refused), and everything after it is split at '/' — a query or fragment is part
  // of the last component.
  if (!uri.starts_with(kPrefix)) {
    throw Error(ErrorKind::kBadStoreUri,
                "Location URI must start with one of the following schemas: rbd://");
  }
  std::vector<std::string_view> pieces;
  std::string_view rest = uri.substr(kPrefix.size());
  for (std::size_t slash; (slash = rest.find('/')) != std::string_view::npos;) {
    pieces.push_back(rest.substr(0, slash));
    rest.remove_prefix(slash + 1);
  }
  pieces.push_back(rest);
  if (pieces.size() != 1 && pieces.size() != 4) {
    throw Error(ErrorKind::kBadStoreUri, "URI must have exactly 1 or 4 components");
  }
  for (const auto piece : pieces) {
    if (piece.empty()) throw Error(ErrorKind::kBadStoreUri, "URI cannot contain empty components");
  }
  std::unique_ptr<RbdLocation> location(new RbdLocation());
  if (pieces.size() == 1) {
    location->image_ = std::string(pieces[0]);  // glance does not unquote the legacy form
    return location;
  }
  location->fsid_ = internal::percent_unquote(pieces[0]);
  location->pool_ = internal::percent_unquote(pieces[1]);
  location->image_ = internal::percent_unquote(pieces[2]);
  location->snapshot_ = internal::percent_unquote(pieces[3]);
  return location;
}

std::string RbdLocation::uri(bool /*redact*/) const {
  // glance writes the four-component form only when fsid, pool and snapshot are all set.
  if (fsid_ && pool_ && snapshot_ && !fsid_->empty() && !pool_->empty() && !snapshot_->empty()) {
    return std::string(kPrefix) + quote_component(*fsid_) + "/" + quote_component(*pool_) + "/" +
           quote_component(image_) + "/" + quote_component(*snapshot_);
  }
  return std::string(kPrefix) + image_;
}

std::vector<LocationField> RbdLocation::fields() const {
  return {{"scheme", scheme_, false},
          {"fsid", fsid_, false},
          {"pool", pool_, false},
          {"image", image_, false},
          {"snapshot", snapshot_, false}};
}

std::string rbd_url_prefix(std::string_view fsid, std::string_view pool) {
  return std::string(kPrefix) + quote_component(fsid) + "/" + quote_component(pool) + "/";
}

}  // namespace glance_store::rbd
