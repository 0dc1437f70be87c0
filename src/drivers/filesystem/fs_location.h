// file:// and filesystem:// locations (internal).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "glance_store/location.h"

namespace glance_store::filesystem {

class FileLocation final : public StoreLocation {
 public:
  FileLocation(std::string scheme, std::string path)
      : scheme_(std::move(scheme)), path_(std::move(path)) {}

  /// Parses like glance_store: the URI must start with `file://` or `filesystem://`; the path is
  /// netloc + path, white space stripped, query and fragment dropped. Throws BadStoreUri.
  static std::unique_ptr<FileLocation> parse(std::string_view uri);

  const std::string& scheme() const override { return scheme_; }
  const std::string& path() const { return path_; }
  /// Always `file://<path>`, as glance_store writes it.
  std::string uri(bool redact = false) const override;
  std::vector<LocationField> fields() const override;

 private:
  std::string scheme_;
  std::string path_;
};

}  // namespace glance_store::filesystem
