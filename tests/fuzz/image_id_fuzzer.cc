// libFuzzer target: the input is an image id. Whenever check_image_id accepts it, the location a
// new image of each store gets (file, s3, swift with credentials, swift+config) must parse back,
// with the same class, to exactly that id and the configured bucket or container; and the
// written-back URI must be the same text. Anything else traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "drivers/filesystem/fs_location.h"
#include "drivers/s3/s3_location.h"
#include "drivers/swift/swift_location.h"
#include "drivers/swift/swift_references.h"
#include "fuzz_check.h"
#include "glance_store/error.h"
#include "glance_store/image_id.h"

namespace {

namespace gs = glance_store;

constexpr std::string_view kDatadir = "/var/lib/glance/images";
// An AWS-style secret: '/' and '+' are common in them.
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY";
constexpr std::size_t kFsMax = 200, kS3Max = 1024, kSwiftMax = 982;

using glance_store::fuzz::require;

const gs::swift::SwiftReferences& references() {
  static const gs::swift::SwiftReferences kRefs = [] {
    gs::swift::SwiftReference ref;
    ref.auth_address = "http://127.0.0.1:18080/auth/v1.0";
    ref.user = "test:tester";
    ref.key = "testing";
    ref.auth_version = "1";
    return gs::swift::SwiftReferences{{"ref1", ref}};
  }();
  return kRefs;
}

void check_file(const std::string& id) {
  const std::string path = std::string(kDatadir) + "/" + id;
  const std::string uri = gs::filesystem::FileLocation("file", path).uri();
  const auto parsed = gs::filesystem::FileLocation::parse(uri);
  require(parsed->path() == path);
  require(parsed->uri() == uri);
}

void check_s3(const std::string& id) {
  const auto made = gs::s3::S3Location::for_new_image("http://127.0.0.1:18480", "AKIDEXAMPLE",
                                                      kSecret, "bucket", id);
  const std::string uri = made->uri();
  const auto parsed = gs::s3::S3Location::parse(uri);
  require(parsed->key() == id);
  require(parsed->bucket() == "bucket");
  require(parsed->service_url() == "127.0.0.1:18480");
  require(parsed->access_key() == "AKIDEXAMPLE" && parsed->secret_key() == kSecret);
  require(parsed->uri() == uri);
}

void check_swift(const std::string& id, bool as_config_reference) {
  const auto& ref = references().at("ref1");
  const auto made =
      gs::swift::SwiftLocation::for_new_image("ref1", ref, as_config_reference, "glance", id);
  const std::string uri = made->uri();
  const auto parsed = gs::swift::SwiftLocation::parse(uri, references());
  require(parsed->object() == id);
  require(parsed->container() == "glance");
  require(parsed->swift_url() == ref.auth_address);
  require(parsed->user() == ref.user && parsed->key() == ref.key);
  require(parsed->uri() == uri);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string id(reinterpret_cast<const char*>(data), size);
  try {
    gs::check_image_id(id);
  } catch (const gs::Error& e) {
    require(e.kind() == gs::ErrorKind::kInvalid);
    return 0;
  }
  // An accepted id must give a location that parses: any Error here is a failure too.
  try {
    if (id.size() <= kFsMax) check_file(id);
    if (id.size() <= kS3Max) check_s3(id);
    if (id.size() <= kSwiftMax) {
      check_swift(id, false);
      check_swift(id, true);
    }
  } catch (const gs::Error&) {
    __builtin_trap();
  }
  return 0;
}
