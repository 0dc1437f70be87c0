// A program built against the installed package: parses a location and prints it back.
#include <glance_store/backend.h>
#include <glance_store/error.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  glance_store::ConfigFile config = glance_store::ConfigFile::parse(
      "[glance_store]\nstores = file\nfilesystem_store_datadir = /tmp/glance-store-consumer\n");
  try {
    auto stores = glance_store::StoreRegistry::create(config);
    std::printf("%s\n", stores->parse_any(argv[1])->uri().c_str());
  } catch (const glance_store::Error& e) {
    std::printf("%s\n", glance_store::kind_name(e.kind()).data());
    return 1;
  }
  return 0;
}
