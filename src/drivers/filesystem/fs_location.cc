#include "drivers/filesystem/fs_location.h"

#include "core/url.h"
#include "glance_store/error.h"

namespace glance_store::filesystem {

std::unique_ptr<FileLocation> FileLocation::parse(std::string_view uri) {
  // glance_store splits first (so a malformed IPv6 netloc fails as such), then checks the prefix
  // on the URI as given: "FILE:///x" is dispatched to this store but rejected here.
  internal::SplitUrl parts = internal::split_url(uri);
  if (!uri.starts_with("file://") && !uri.starts_with("filesystem://")) {
    throw Error(ErrorKind::kBadStoreUri,
                "Location URI must start with one of the following schemas: file://, "
                "filesystem://");
  }
  std::string joined;
  joined.reserve(parts.netloc.size() + parts.path.size());
  joined.append(parts.netloc).append(parts.path);
  std::string_view path = internal::strip_py_whitespace(joined);
  if (path.empty()) throw Error(ErrorKind::kBadStoreUri, "No path specified in URI");
  return std::make_unique<FileLocation>(std::move(parts.scheme), std::string(path));
}

std::string FileLocation::uri(bool /*redact*/) const { return "file://" + path_; }

std::vector<LocationField> FileLocation::fields() const {
  return {{"scheme", scheme_, false}, {"path", path_, false}};
}

}  // namespace glance_store::filesystem
