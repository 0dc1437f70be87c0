// The XML answers of S3's multipart operations (src/drivers/s3/s3_answers.h).
#include <gtest/gtest.h>

#include "drivers/s3/s3_answers.h"

namespace glance_store::s3 {
namespace {

constexpr const char* kPage =
    R"(<?xml version="1.0"?><ListMultipartUploadsResult><IsTruncated>true</IsTruncated>)"
    R"(<NextKeyMarker>b</NextKeyMarker><NextUploadIdMarker>2~y</NextUploadIdMarker>)"
    R"(<Upload><Key>a</Key><UploadId>2~x</UploadId><Initiated>2026-12-01T12:00:00.000Z</Initiated>)"
    R"(</Upload><Upload><Key>b</Key><UploadId>2~y</UploadId>)"
    R"(<Initiated>2026-12-01T12:00:05Z</Initiated></Upload></ListMultipartUploadsResult>)";

TEST(UploadListingTest, UploadsAndTheNextPageMarkers) {
  const auto listing = parse_upload_listing(kPage);
  ASSERT_TRUE(listing);
  ASSERT_EQ(listing->uploads.size(), 2U);
  EXPECT_EQ(listing->uploads[0].key, "a");
  EXPECT_EQ(listing->uploads[0].upload_id, "2~x");
  EXPECT_EQ(listing->uploads[0].initiated, 1796126400);
  EXPECT_EQ(listing->uploads[1].initiated, 1796126405);
  EXPECT_TRUE(listing->truncated);
  EXPECT_EQ(listing->next_key_marker, "b");
  EXPECT_EQ(listing->next_upload_id_marker, "2~y");
}

TEST(UploadListingTest, WithoutNextMarkersThePageGoesOnFromItsLastUpload) {
  const auto listing = parse_upload_listing(
      "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><Upload><Key>k</Key>"
      "<UploadId>u</UploadId><Initiated>2026-12-01T12:00:00Z</Initiated></Upload>"
      "</ListMultipartUploadsResult>");
  ASSERT_TRUE(listing);
  EXPECT_EQ(listing->next_key_marker, "k");
  EXPECT_EQ(listing->next_upload_id_marker, "u");
  const auto last = parse_upload_listing("<ListMultipartUploadsResult/>");
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->uploads.empty());
  EXPECT_FALSE(last->truncated);
}

TEST(UploadListingTest, OtherDocumentsAndIncompleteUploadsAreRefused) {
  for (const char* body :
       {"", "<", "<Error><Code>NoSuchBucket</Code></Error>",
        "<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>u</UploadId></Upload>"
        "</ListMultipartUploadsResult>",
        "<ListMultipartUploadsResult><Upload><UploadId>u</UploadId><Initiated>2026-12-01T12:00:00Z"
        "</Initiated></Upload></ListMultipartUploadsResult>"}) {
    EXPECT_FALSE(parse_upload_listing(body)) << body;
  }
}

TEST(MultipartAnswersTest, UploadIdAndCompletedETag) {
  EXPECT_EQ(parse_upload_id("<InitiateMultipartUploadResult><UploadId>2~q</UploadId>"
                            "</InitiateMultipartUploadResult>"),
            "2~q");
  EXPECT_EQ(parse_completed_etag("<CompleteMultipartUploadResult><ETag>\"e-3\"</ETag>"
                                 "</CompleteMultipartUploadResult>"),
            "\"e-3\"");
  for (const char* body : {"", "<x", "<Error/>", "<CompleteMultipartUploadResult/>"}) {
    EXPECT_EQ(parse_upload_id(body), "") << body;
    EXPECT_EQ(parse_completed_etag(body), "") << body;
  }
}

}  // namespace
}  // namespace glance_store::s3
