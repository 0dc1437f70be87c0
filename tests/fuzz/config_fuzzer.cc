// libFuzzer target: glance-api.conf text through the INI parser and the typed option reads.
// Any input must give values or a glance_store::Error — never a crash, a leak or a hang.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "glance_store/config.h"
#include "glance_store/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto config = glance_store::ConfigFile::parse(text, "fuzz.conf");
    for (const auto& section : config.sections()) {
      glance_store::OptionReader reader(config, {section, "backend_defaults"}, "filesystem");
      for (const char* name : {"filesystem_store_datadir", "enabled_backends", "stores"}) {
        (void)reader.get_string(name);
        (void)reader.get_list(name);
        (void)reader.get_multi(name);
      }
      try {
        (void)reader.get_int("filesystem_store_chunk_size", 65536, 1);
      } catch (const glance_store::Error&) {
      }
      try {
        (void)reader.get_bool("filesystem_thin_provisioning", false);
      } catch (const glance_store::Error&) {
      }
    }
  } catch (const glance_store::Error&) {
  }
  return 0;
}
