// libFuzzer target: the input is a Swift container listing page, a Keystone token answer and
// its catalog, or an X-Object-Manifest value (all are tried on every input). Each parser must
// refuse what is malformed with a typed Error or nullopt — never crash, never throw anything else —
// and what it accepts must hold what its callers rely on.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "drivers/swift/swift_reader.h"
#include "drivers/swift/swift_session.h"
#include "fuzz_check.h"
#include "glance_store/error.h"

namespace {

namespace gs = glance_store;

using glance_store::fuzz::require;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& entry : gs::swift::parse_listing(text, "Listing c/p*")) {
      require(!entry.name.empty());
    }
  } catch (const gs::Error& e) {
    require(e.kind() == gs::ErrorKind::kBackendException);
  }
  if (const auto answer = gs::swift::parse_keystone_answer("subject", text)) {
    require(answer->token.value == "subject" && answer->token.storage_url.empty());
    (void)gs::swift::find_endpoint(answer->catalog, {});
  }
  const auto catalog = nlohmann::json::parse(text, nullptr, false);
  if (!catalog.is_discarded()) {
    for (const char* interface : {"publicURL", "internalURL", "adminURL"}) {
      gs::swift::EndpointChoice choice;
      choice.interface = interface;
      (void)gs::swift::find_endpoint(catalog, choice);
      choice.region = "RegionOne";
      (void)gs::swift::find_endpoint(catalog, choice);
    }
    if (catalog.is_object() && catalog.contains("token") && catalog["token"].is_object()) {
      (void)gs::swift::find_endpoint(catalog["token"].value("catalog", nlohmann::json()), {});
    }
  }
  if (const auto target = gs::swift::parse_object_manifest(text)) {
    require(!target->container.empty());
  }
  return 0;
}
