// Google Benchmark micro-benchmarks of the hot paths: URI parsing and write-back, configuration
// parsing, hashing, and the add pipeline per buffer size.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "core/add_pipeline.h"
#include "glance_store/backend.h"
#include "glance_store/hashing.h"

namespace {

using namespace glance_store;

const ConfigFile& file_store_config() {
  static const ConfigFile kConfig = ConfigFile::parse(
      "[glance_store]\nstores = file\nfilesystem_store_datadir = /tmp/glance-store-bench\n");
  return kConfig;
}

void BM_ParseAndWriteBackFileUri(benchmark::State& state) {
  auto registry = StoreRegistry::create(file_store_config());
  const std::string uri = "file:///var/lib/glance/images/71c675ab-d94f-49cd-a114-e12490b328d9";
  for (auto _ : state) {
    auto location = registry->parse_any(uri);
    std::string back = location->uri();
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndWriteBackFileUri);

void BM_ParseConfig(benchmark::State& state) {
  const std::string text =
      "[DEFAULT]\n"
      "enabled_backends = fast:file, cheap:file, s3one:s3\n"
      "# a comment\n"
      "[glance_store]\n"
      "default_backend = fast\n"
      "[backend_defaults]\n"
      "filesystem_store_chunk_size = 65536\n"
      "[fast]\n"
      "filesystem_store_datadir = /var/lib/glance/fast\n"
      "store_description = \"SSD pool\"\n"
      "[cheap]\n"
      "filesystem_store_datadirs = /srv/a:100\n"
      "filesystem_store_datadirs = /srv/b:200\n"
      "filesystem_store_datadir =\n"
      "[s3one]\n"
      "s3_store_host = https://s3.example.com\n"
      "s3_store_access_key = AKIA\n"
      "s3_store_secret_key = secret\n"
      "s3_store_bucket = images\n";
  for (auto _ : state) {
    auto config = ConfigFile::parse(text);
    benchmark::DoNotOptimize(config);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_ParseConfig);

void BM_Hash(benchmark::State& state, const char* algorithm) {
  std::vector<std::byte> data(1 << 20, std::byte{0x5a});
  auto hasher = Hasher::create(algorithm);
  for (auto _ : state) hasher->update(data);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
}
BENCHMARK_CAPTURE(BM_Hash, md5, "md5");
BENCHMARK_CAPTURE(BM_Hash, sha512, "sha512");
BENCHMARK_CAPTURE(BM_Hash, sha256, "sha256");

// A source that hands out the same bytes without copying cost beyond the memcpy a read does.
class RepeatingStream final : public InputStream {
 public:
  explicit RepeatingStream(std::uint64_t total) : remaining_(total) {}
  std::size_t read(std::span<std::byte> out) override {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), remaining_));
    std::fill_n(out.data(), n, std::byte{0x5a});
    remaining_ -= n;
    return n;
  }

 private:
  std::uint64_t remaining_;
};

class NullWriter final : public ImageWriter {
 public:
  void write(const DataChunk& chunk) override { benchmark::DoNotOptimize(chunk.bytes().data()); }
  Committed commit(std::uint64_t, std::string_view) override { return {}; }
  void abort() noexcept override {}
};

// md5 + sha512 in parallel with a writer that costs nothing: the pipeline's own ceiling.
void BM_AddPipeline(benchmark::State& state) {
  constexpr std::uint64_t kTotal = 256ULL << 20;
  PipelineOptions options;
  options.buffer_size = static_cast<std::size_t>(state.range(0));
  options.buffer_count = std::max<std::size_t>(2, (8U << 20) / options.buffer_size);
  for (auto _ : state) {
    RepeatingStream source(kTotal);
    NullWriter writer;
    auto md5 = Hasher::create("md5");
    auto sha512 = Hasher::create("sha512");
    auto result = internal::run_add_pipeline(source, kTotal, *md5, sha512.get(), nullptr, writer,
                                             options);
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kTotal));
}
BENCHMARK(BM_AddPipeline)->RangeMultiplier(4)->Range(64 << 10, 4 << 20)->UseRealTime()->Unit(
    benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
