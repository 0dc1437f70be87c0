#include "drivers/s3/s3_answers.h"

#include <pugixml.hpp>

#include "core/timestamp.h"

namespace glance_store::s3 {
namespace {

// The root element `name` of an XML body, or an empty node.
pugi::xml_node root_of(pugi::xml_document& doc, std::string_view body, const char* name) {
  if (body.empty() || !doc.load_buffer(body.data(), body.size())) return {};
  return doc.child(name);
}

}  // namespace

std::string parse_upload_id(std::string_view body) {
  pugi::xml_document doc;
  return root_of(doc, body, "InitiateMultipartUploadResult").child_value("UploadId");
}

std::string parse_completed_etag(std::string_view body) {
  pugi::xml_document doc;
  return root_of(doc, body, "CompleteMultipartUploadResult").child_value("ETag");
}

std::optional<UploadListing> parse_upload_listing(std::string_view body) {
  pugi::xml_document doc;
  const pugi::xml_node root = root_of(doc, body, "ListMultipartUploadsResult");
  if (!root) return std::nullopt;
  UploadListing listing;
  for (const auto upload : root.children("Upload")) {
    UploadListing::Upload entry{upload.child_value("Key"), upload.child_value("UploadId")};
    const auto initiated = internal::parse_utc_timestamp(upload.child_value("Initiated"));
    if (entry.key.empty() || entry.upload_id.empty() || !initiated) return std::nullopt;
    entry.initiated = *initiated;
    listing.uploads.push_back(std::move(entry));
  }
  listing.truncated = std::string_view(root.child_value("IsTruncated")) == "true";
  listing.next_key_marker = root.child_value("NextKeyMarker");
  listing.next_upload_id_marker = root.child_value("NextUploadIdMarker");
  if (listing.next_key_marker.empty() && !listing.uploads.empty()) {
    listing.next_key_marker = listing.uploads.back().key;
    listing.next_upload_id_marker = listing.uploads.back().upload_id;
  }
  return listing;
}

}  // namespace glance_store::s3
