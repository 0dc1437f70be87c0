// Error kinds, default messages (EX-03..EX-12), Error::format (EX-06/07) and the kind hierarchy
// (EX-08).
#include "glance_store/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <set>
#include <string>

#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using ::testing::HasSubstr;

struct KindCase {
  ErrorKind kind;
  const char* name;
  const char* message;  // glance_store's template, placeholders unfilled
};

void PrintTo(const KindCase& c, std::ostream* os) { *os << c.name; }

// Every kind, in numeric order, with the names and templates of glance_store's exceptions.
const KindCase kKindCases[] = {
    {ErrorKind::kNotFound, "NotFound", "Image %(image)s not found"},
    {ErrorKind::kDuplicate, "Duplicate", "Image %(image)s already exists"},
    {ErrorKind::kInvalid, "Invalid", "Data supplied was not valid."},
    {ErrorKind::kBadStoreUri, "BadStoreUri", "The Store URI was malformed: %(uri)s"},
    {ErrorKind::kUnknownScheme, "UnknownScheme", "Unknown scheme '%(scheme)s' found in URI"},
    {ErrorKind::kUnknownHashingAlgo, "UnknownHashingAlgo",
     "Unknown hashing algorithm identifier: %(algo)s"},
    {ErrorKind::kBadStoreConfiguration, "BadStoreConfiguration",
     "Store %(store_name)s could not be configured correctly. Reason: %(reason)s"},
    {ErrorKind::kStorageFull, "StorageFull",
     "There is not enough disk space on the image storage media."},
    {ErrorKind::kStorageWriteDenied, "StorageWriteDenied",
     "Permission to write image storage media denied."},
    {ErrorKind::kForbidden, "Forbidden", "You are not authorized to complete this action."},
    {ErrorKind::kAuthorizationFailure, "AuthorizationFailure", "Authorization failed."},
    {ErrorKind::kMaxRedirectsExceeded, "MaxRedirectsExceeded",
     "Maximum redirects (%(redirects)s) was exceeded."},
    {ErrorKind::kStoreAddDisabled, "StoreAddDisabled",
     "Configuration for store failed. Adding images to this store is disabled."},
    {ErrorKind::kStoreGetNotSupported, "StoreGetNotSupported",
     "Getting images from this store is not supported."},
    {ErrorKind::kStoreRandomGetNotSupported, "StoreRandomGetNotSupported",
     "Getting images randomly from this store is not supported. Offset: %(offset)s, length: "
     "%(chunk_size)s"},
    {ErrorKind::kStoreDeleteNotSupported, "StoreDeleteNotSupported",
     "Deleting images from this store is not supported."},
    {ErrorKind::kRemoteServiceUnavailable, "RemoteServiceUnavailable",
     "Remote server where the image is present is unavailable."},
    {ErrorKind::kBackendException, "BackendException", ""},
    {ErrorKind::kTimeoutError, "TimeoutError",
     "Operation timed out after %(timeout)ds. Check storage health and connectivity."},
    {ErrorKind::kNotAuthenticated, "NotAuthenticated", "You are not authenticated."},
    {ErrorKind::kMissingCredentialError, "MissingCredentialError",
     "Missing required credential: %(required)s"},
    {ErrorKind::kAuthBadRequest, "AuthBadRequest",
     "Connect error/bad request to Auth service at URL %(url)s."},
    {ErrorKind::kAuthUrlNotFound, "AuthUrlNotFound", "Auth service at URL %(url)s not found."},
    {ErrorKind::kUnsupportedBackend, "UnsupportedBackend", ""},
    {ErrorKind::kDriverLoadFailure, "DriverLoadFailure",
     "Driver %(driver_name)s could not be loaded."},
    {ErrorKind::kChecksumMismatch, "ChecksumMismatch",
     "The image's %(algo)s is %(actual)s, expected %(expected)s."},
    {ErrorKind::kHasSnapshot, "HasSnapshot",
     "The image cannot be deleted because it has snapshot(s)."},
    {ErrorKind::kInUseByStore, "InUseByStore",
     "The image cannot be deleted because it is in use through the backend store outside of "
     "Glance."},
};

class ErrorKindTest : public ::testing::TestWithParam<KindCase> {};

TEST_P(ErrorKindTest, HasGlanceStoreName) {
  EXPECT_EQ(kind_name(GetParam().kind), GetParam().name);
}

TEST_P(ErrorKindTest, HasGlanceStoreTemplate) {
  EXPECT_EQ(default_message(GetParam().kind), GetParam().message);
}

TEST_P(ErrorKindTest, EmptyMessageTakesTheTemplateUninterpolated) {
  const Error e(GetParam().kind, "");
  EXPECT_EQ(e.kind(), GetParam().kind);
  EXPECT_EQ(e.message(), GetParam().message);
  EXPECT_STREQ(e.what(), GetParam().message);
  EXPECT_EQ(e.sys_errno(), 0);
}

TEST_P(ErrorKindTest, IsItsOwnKind) {
  EXPECT_TRUE(Error(GetParam().kind, "x").is(GetParam().kind));
}

INSTANTIATE_TEST_SUITE_P(AllKinds, ErrorKindTest, ::testing::ValuesIn(kKindCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ErrorKindListTest, ListsEveryKindOnceInNumericOrder) {
  ASSERT_EQ(std::size(kAllErrorKinds), std::size(kKindCases));
  for (std::size_t i = 0; i < std::size(kAllErrorKinds); ++i) {
    EXPECT_EQ(static_cast<int>(kAllErrorKinds[i]), static_cast<int>(i));
    EXPECT_EQ(kAllErrorKinds[i], kKindCases[i].kind);
  }
}

TEST(ErrorKindListTest, NumericValuesAreStable) {
  // The tool's exit codes are 10 + value: these must never move.
  EXPECT_EQ(static_cast<int>(ErrorKind::kNotFound), 0);
  EXPECT_EQ(static_cast<int>(ErrorKind::kBadStoreUri), 3);
  EXPECT_EQ(static_cast<int>(ErrorKind::kBadStoreConfiguration), 6);
  EXPECT_EQ(static_cast<int>(ErrorKind::kStoreAddDisabled), 12);
  EXPECT_EQ(static_cast<int>(ErrorKind::kDriverLoadFailure), 24);
  EXPECT_EQ(static_cast<int>(ErrorKind::kChecksumMismatch), 25);
  EXPECT_EQ(static_cast<int>(ErrorKind::kHasSnapshot), 26);
  EXPECT_EQ(static_cast<int>(ErrorKind::kInUseByStore), 27);
}

// EX-03..EX-05.
TEST(ErrorTest, NotFoundMessages) {
  EXPECT_EQ(Error(ErrorKind::kNotFound, "").message(), "Image %(image)s not found");
  EXPECT_EQ(not_found_error("123").message(), "Image 123 not found");
  EXPECT_EQ(not_found_error("123").kind(), ErrorKind::kNotFound);
  EXPECT_EQ(Error(ErrorKind::kNotFound, "Some message").message(), "Some message");
}

TEST(ErrorTest, KeepsErrno) {
  const Error e(ErrorKind::kStorageFull, "", 28);
  EXPECT_EQ(e.sys_errno(), 28);
  EXPECT_EQ(e.message(), "There is not enough disk space on the image storage media.");
}

TEST(ErrorTest, IsAStdException) {
  try {
    throw Error(ErrorKind::kInvalid, "bad data");
  } catch (const std::exception& e) {
    EXPECT_STREQ(e.what(), "bad data");
    return;
  }
  FAIL() << "not caught as std::exception";
}

TEST(ErrorTest, InvalidOptionValueIsABadStoreConfiguration) {
  try {
    throw InvalidOptionValue(ErrorKind::kBadStoreConfiguration, "why");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreConfiguration);
    EXPECT_EQ(e.message(), "why");
    return;
  }
  FAIL() << "InvalidOptionValue not caught as Error";
}

TEST(ErrorTest, Shorthands) {
  EXPECT_EQ(duplicate_error("/d/img").message(), "Image /d/img already exists");
  EXPECT_EQ(duplicate_error("/d/img").kind(), ErrorKind::kDuplicate);
  EXPECT_EQ(bad_store_uri_error("s3:").message(), "The Store URI was malformed: s3:");
  EXPECT_EQ(bad_store_uri_error("s3:").kind(), ErrorKind::kBadStoreUri);
  EXPECT_EQ(bad_store_uri_error("No path specified in URI", true).message(),
            "No path specified in URI");
  // C-07.
  EXPECT_EQ(unknown_scheme_error("nope").message(), "Unknown scheme 'nope' found in URI");
  EXPECT_EQ(unknown_scheme_error("nope").kind(), ErrorKind::kUnknownScheme);
  // EX-14.
  EXPECT_EQ(bad_store_configuration_error("s3",
                                          "s3_store_large_object_chunk_size must be at "
                                          "least 5 MB.")
                .message(),
            "Store s3 could not be configured correctly. Reason: "
            "s3_store_large_object_chunk_size must be at least 5 MB.");
  EXPECT_EQ(bad_store_configuration_error("filesystem", "x").kind(),
            ErrorKind::kBadStoreConfiguration);
}

// EX-08: the only derived kinds are StoreRandomGetNotSupported (a StoreGetNotSupported) and
// UnsupportedBackend (a BackendException).
TEST(ErrorHierarchyTest, OnlyTheGlanceStoreSubclassesAreRelated) {
  const std::set<std::pair<ErrorKind, ErrorKind>> derived = {
      {ErrorKind::kStoreRandomGetNotSupported, ErrorKind::kStoreGetNotSupported},
      {ErrorKind::kUnsupportedBackend, ErrorKind::kBackendException},
  };
  for (ErrorKind actual : kAllErrorKinds) {
    const Error e(actual, "m");
    for (ErrorKind asked : kAllErrorKinds) {
      const bool expected = actual == asked || derived.count({actual, asked}) != 0;
      EXPECT_EQ(e.is(asked), expected) << kind_name(actual) << ".is(" << kind_name(asked) << ")";
    }
  }
}

TEST(ErrorHierarchyTest, RandomGetIsAGetNotSupportedButNotTheReverse) {
  EXPECT_TRUE(
      Error(ErrorKind::kStoreRandomGetNotSupported, "").is(ErrorKind::kStoreGetNotSupported));
  EXPECT_FALSE(
      Error(ErrorKind::kStoreGetNotSupported, "").is(ErrorKind::kStoreRandomGetNotSupported));
}

// EX-06 / EX-07: %(name)s and %(name)d are filled; anything else, or a name without a value,
// stays as written.
TEST(ErrorFormatTest, FillsPlaceholdersAsPythonPercentFormatting) {
  EXPECT_EQ(Error::format("Message: %(foo)s", {{"foo", "bar"}}), "Message: bar");
  EXPECT_EQ(Error::format("after %(timeout)ds.", {{"timeout", "5"}}), "after 5s.");
  EXPECT_EQ(Error::format("%(a)s and %(b)s", {{"a", "1"}, {"b", "2"}}), "1 and 2");
  EXPECT_EQ(Error::format("%(a)s%(a)s", {{"a", "x"}}), "xx");
  EXPECT_EQ(Error::format("plain", {{"a", "x"}}), "plain");
  EXPECT_EQ(Error::format("[%(a)s]", {{"a", ""}}), "[]");
}

TEST(ErrorFormatTest, KeepsWhatItCannotFill) {
  EXPECT_EQ(Error::format("Image %(image)s not found", {}), "Image %(image)s not found");
  EXPECT_EQ(Error::format("Image %(image)s not found", {{"uri", "x"}}),
            "Image %(image)s not found");
  EXPECT_EQ(Error::format("x %(a", {{"a", "1"}}), "x %(a");
  EXPECT_EQ(Error::format("x %(a)", {{"a", "1"}}), "x %(a)");
}

// EX-07: glance_store interpolates the whole message or, when that fails (here: `b` has no
// value), keeps the whole un-interpolated text; it never fills some placeholders and not others.
TEST(ErrorFormatTest, KeepsTheWholeTemplateWhenAnArgumentIsMissing) {
  EXPECT_EQ(Error::format("%(a)s/%(b)s", {{"a", "1"}}), "%(a)s/%(b)s");
  EXPECT_EQ(Error::format("Store %(store_name)s could not be configured correctly. Reason: "
                          "%(reason)s",
                          {{"store_name", "filesystem"}}),
            "Store %(store_name)s could not be configured correctly. Reason: %(reason)s");
}

TEST(ErrorFormatTest, DoesNotExpandPlaceholdersInsideValues) {
  EXPECT_EQ(Error::format("%(a)s %(b)s", {{"a", "%(b)s"}, {"b", "B"}}), "%(b)s B");
}

TEST(ErrorFormatTest, TemplatesOfEveryKindFormatWithoutArguments) {
  for (ErrorKind kind : kAllErrorKinds) {
    EXPECT_EQ(Error::format(default_message(kind), {}), default_message(kind)) << kind_name(kind);
  }
}

TEST(ErrorFormatTest, RandomGetTemplate) {
  EXPECT_EQ(Error::format(default_message(ErrorKind::kStoreRandomGetNotSupported),
                          {{"offset", "0"}, {"chunk_size", "1"}}),
            "Getting images randomly from this store is not supported. Offset: 0, length: 1");
}

TEST(ErrorFormatTest, BadStoreConfigurationTemplate) {
  EXPECT_THAT(Error::format(default_message(ErrorKind::kBadStoreConfiguration),
                            {{"store_name", "filesystem"}, {"reason", "why"}}),
              HasSubstr("Store filesystem could not be configured correctly. Reason: why"));
}

}  // namespace
}  // namespace glance_store
