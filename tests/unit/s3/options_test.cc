// S3 options: defaults, configure_add checks, the AWS region table, part planning.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "drivers/s3/s3_options.h"
#include "drivers/s3/s3_writer.h"
#include "glance_store/error.h"

namespace glance_store::s3 {
namespace {

using test_common::CatchError;

S3Options read(const std::string& text) {
  const ConfigFile file = ConfigFile::parse(text);
  return S3Options::read(OptionReader(file, {"glance_store"}, "s3"));
}

std::string add_check_message(const std::string& text) {
  try {
    read(text).check_for_add();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreConfiguration);
    return e.message();
  }
  return "";
}

constexpr const char* kComplete =
    "[glance_store]\ns3_store_host = localhost\ns3_store_access_key = user\n"
    "s3_store_secret_key = key\ns3_store_bucket = glance\n";

TEST(S3Options, Defaults) {
  const S3Options o = read("[glance_store]\n");
  EXPECT_EQ(o.large_object_size, 100);
  EXPECT_EQ(o.large_object_chunk_size, 10);
  EXPECT_EQ(o.thread_pools, 10);
  EXPECT_EQ(o.bucket_url_format, "auto");
  EXPECT_FALSE(o.create_bucket_on_put);
  EXPECT_EQ(o.max_upload_parts, 10000);
  EXPECT_EQ(o.max_retries, 5);
  EXPECT_EQ(o.request_checksum_calculation, "when_required");
}

TEST(S3Options, RequiredOptions) {
  EXPECT_EQ(add_check_message(kComplete), "");
  EXPECT_NE(add_check_message("[glance_store]\ns3_store_access_key = a\n")
                .find("Could not find s3_store_host in configuration options."),
            std::string::npos);
  EXPECT_NE(add_check_message(std::string(kComplete) + "s3_store_bucket =\n")
                .find("Could not find s3_store_bucket"),
            std::string::npos);
}

TEST(S3Options, ChunkSizeAndThreadPools) {
  EXPECT_NE(add_check_message(std::string(kComplete) + "s3_store_large_object_chunk_size = 4\n")
                .find("s3_store_large_object_chunk_size must be at least 5 MB."),
            std::string::npos);
  EXPECT_NE(add_check_message(std::string(kComplete) + "s3_store_thread_pools = -2\n")
                .find("s3_store_thread_pools must be a positive integer. -2"),
            std::string::npos);
  EXPECT_NE(add_check_message(std::string(kComplete) + "s3_store_thread_pools = 0\n")
                .find("Could not find s3_store_thread_pools"),
            std::string::npos);
}

TEST(S3Options, ChecksumChoicesAreChecked) {
  EXPECT_THROW(read("[glance_store]\ns3_store_request_checksum_calculation = always\n"),
               InvalidOptionValue);
}

TEST(S3Options, RegionTable) {
  for (const std::string prefix : {"", "http://", "https://"}) {
    for (const std::string suffix : {"", "/", ":80", ":80/"}) {
      EXPECT_EQ(region_of_host(prefix + "s3-eu-west-2.amazonaws.com" + suffix), "eu-west-2");
      EXPECT_EQ(region_of_host(prefix + "s3.amazonaws.com" + suffix), "");
    }
  }
  EXPECT_EQ(region_of_host("s3-cn-northwest-1.amazonaws.com.cn"), "cn-northwest-1");
  EXPECT_EQ(region_of_host("my-object-storage.com"), "");
  EXPECT_EQ(region_of_host("s3-my-object.jp"), "");
  EXPECT_EQ(region_of_host("192.168.100.12"), "");
}

TEST(S3Options, DnsCompatibleBuckets) {
  EXPECT_TRUE(is_dns_compatible_bucket("glance"));
  EXPECT_TRUE(is_dns_compatible_bucket("a-1"));
  EXPECT_FALSE(is_dns_compatible_bucket("not.dns.compliant"));
  EXPECT_FALSE(is_dns_compatible_bucket("aa"));
  EXPECT_FALSE(is_dns_compatible_bucket("bucket-"));
  EXPECT_FALSE(is_dns_compatible_bucket("Upper"));
}

TEST(MultipartPlan, KnownSizeAsGlance) {
  constexpr std::uint64_t MiB = 1 << 20;
  const PipelineOptions memory;  // the defaults: 96 MiB per add
  EXPECT_EQ(plan_multipart(16 * MiB, 6 * MiB, 10000, 10, memory).part_size, 6 * MiB);
  // 200 GiB → ceil(size / 10000)-byte parts.
  EXPECT_EQ(plan_multipart(200ULL << 30, 10 * MiB, 10000, 10, memory).part_size, 21474837u);
  // Swift's s3api allows 1,000 parts.
  EXPECT_EQ(plan_multipart(20ULL << 30, 10 * MiB, 1000, 10, memory).part_size, 21474837u);
}

TEST(MultipartPlan, PartsAndTheirParallelismFitTheMemoryLimit) {
  constexpr std::uint64_t MiB = 1 << 20;
  const PipelineOptions memory;  // 8 buffers of 1 MiB, 96 MiB in all
  const MultipartPlan plan = plan_multipart(1ULL << 30, 10 * MiB, 10000, 10, memory);
  // 10 uploading and 1 filling would keep 11 × (10 + 2) MiB: more than the 88 MiB left.
  EXPECT_EQ(plan.held_bytes, 88 * MiB);
  EXPECT_LE(plan.held_bytes + 8 * MiB, memory.memory_limit);
  // Few threads keep no more than they need.
  EXPECT_EQ(plan_multipart(1ULL << 30, 10 * MiB, 10000, 2, memory).held_bytes, 3 * 12 * MiB);
  // 2 TiB in 10,000 parts needs 220 MB parts: more than the limit holds (86 MiB).
  const Error e = CatchError([&] { plan_multipart(2ULL << 40, 10 * MiB, 10000, 10, memory); });
  EXPECT_EQ(e.kind(), ErrorKind::kInvalid);
  EXPECT_NE(e.message().find("add_memory_limit"), std::string::npos) << e.message();
  PipelineOptions more;
  more.memory_limit = 4ULL << 30;
  EXPECT_EQ(plan_multipart(2ULL << 40, 10 * MiB, 10000, 10, more).part_size, 219902326u);
}

TEST(MultipartPlan, UnknownSizeGrowsToFitTheLimit) {
  constexpr std::uint64_t MiB = 1 << 20;
  PipelineOptions memory;
  memory.memory_limit = 8ULL << 30;
  const MultipartPlan plan = plan_multipart(0, 10 * MiB, 1000, 10, memory);
  EXPECT_EQ(part_size_at(plan, 0), 10 * MiB);
  EXPECT_EQ(part_size_at(plan, 99), 10 * MiB);
  EXPECT_EQ(part_size_at(plan, 100), 20 * MiB);
  std::uint64_t capacity = 0;
  for (std::uint64_t i = 0; i < plan.max_parts; ++i) {
    EXPECT_LE(part_size_at(plan, i), 5ULL << 30);
    capacity += part_size_at(plan, i);
  }
  EXPECT_GT(capacity, 900ULL << 30);  // about 1 TiB fits in 1,000 parts of 10 MiB and up
}

TEST(MultipartPlan, UnknownSizeStopsGrowingAtTheMemoryLimit) {
  constexpr std::uint64_t MiB = 1 << 20;
  const PipelineOptions memory;  // 96 MiB: parts up to 86 MiB
  const MultipartPlan plan = plan_multipart(0, 10 * MiB, 10000, 10, memory);
  EXPECT_EQ(plan.max_part_size, 86 * MiB);
  EXPECT_EQ(plan.held_bytes, 88 * MiB);
  std::uint64_t capacity = 0;
  for (std::uint64_t i = 0; i < plan.max_parts; ++i) {
    EXPECT_LE(part_size_at(plan, i), 86 * MiB);
    capacity += part_size_at(plan, i);
  }
  EXPECT_GT(capacity, 600ULL << 30);
}

}  // namespace
}  // namespace glance_store::s3
