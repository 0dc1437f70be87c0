// rbd locations as glance_store parses and writes them, and the RBD store's options.
#include "drivers/rbd/rbd_location.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "drivers/rbd/rbd_errors.h"
#include "drivers/rbd/rbd_options.h"
#include "drivers/rbd/rbd_writer.h"
#include "glance_store/backend.h"
#include "glance_store/error.h"

namespace glance_store::rbd {
namespace {

TEST(RbdLocation, FourComponentsAreUnquoted) {
  const auto loc = RbdLocation::parse("rbd://fs%2Fid/po%20ol/im%3Aage/sn%40ap");
  EXPECT_EQ(loc->fsid(), "fs/id");
  EXPECT_EQ(loc->pool(), "po ol");
  EXPECT_EQ(loc->image(), "im:age");
  EXPECT_EQ(loc->snapshot(), "sn@ap");
  // Written back quoted as Python's quote(safe=''): only letters, digits and _.-~ stay.
  EXPECT_EQ(loc->uri(), "rbd://fs%2Fid/po%20ol/im%3Aage/sn%40ap");
}

TEST(RbdLocation, OneComponentIsTheImageAsWritten) {
  const auto loc = RbdLocation::parse("rbd://my%20image");
  EXPECT_EQ(loc->fsid(), std::nullopt);
  EXPECT_EQ(loc->pool(), std::nullopt);
  EXPECT_EQ(loc->image(), "my%20image");  // glance does not unquote the legacy form
  EXPECT_EQ(loc->snapshot(), std::nullopt);
  EXPECT_EQ(loc->uri(), "rbd://my%20image");
}

TEST(RbdLocation, QueryAndFragmentArePartOfTheLastComponent) {
  EXPECT_EQ(RbdLocation::parse("rbd://f/p/i/s?x#y")->snapshot(), "s?x#y");
  EXPECT_EQ(RbdLocation::parse("rbd://i?x")->image(), "i?x");
}

TEST(RbdLocation, NewImageLocationQuotesEveryComponent) {
  const RbdLocation loc("1ebe8efc-92ec", "images", "é x", "snap");
  EXPECT_EQ(loc.uri(), "rbd://1ebe8efc-92ec/images/%C3%A9%20x/snap");
  EXPECT_EQ(RbdLocation::parse(loc.uri())->image(), "é x");
  EXPECT_EQ(rbd_url_prefix("f s", "images"), "rbd://f%20s/images/");
}

struct BadUriCase {
  const char* uri;
  const char* message;
};

class RbdBadUriTest : public ::testing::TestWithParam<BadUriCase> {};

TEST_P(RbdBadUriTest, IsBadStoreUriWithGlanceMessage) {
  try {
    RbdLocation::parse(GetParam().uri);
    ADD_FAILURE() << "accepted " << GetParam().uri;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri);
    EXPECT_EQ(e.message(), GetParam().message);
  }
}

constexpr const char* kComponents = "URI must have exactly 1 or 4 components";
constexpr const char* kEmpty = "URI cannot contain empty components";
constexpr const char* kPrefix = "Location URI must start with one of the following schemas: rbd://";

INSTANTIATE_TEST_SUITE_P(
    Cases, RbdBadUriTest,
    ::testing::Values(BadUriCase{"rbd://", kEmpty}, BadUriCase{"rbd://a/b", kComponents},
                      BadUriCase{"rbd://a/b/c", kComponents},
                      BadUriCase{"rbd://a/b/c/d/e", kComponents},
                      BadUriCase{"rbd://a/b/c/", kEmpty}, BadUriCase{"rbd://a//c/d", kEmpty},
                      BadUriCase{"rbd:///b/c/d", kEmpty}, BadUriCase{"RBD://a", kPrefix},
                      BadUriCase{"rbd:/a", kPrefix}, BadUriCase{"rbd:a", kPrefix}));

TEST(RbdAddingName, IsRecognisedOnlyWithItsToken) {
  const std::string token(32, 'a');
  EXPECT_EQ(image_of_adding_name(adding_name("img", token)), "img");
  EXPECT_EQ(image_of_adding_name("img"), std::nullopt);
  EXPECT_EQ(image_of_adding_name("img;adding;short"), std::nullopt);
  EXPECT_EQ(image_of_adding_name(";adding;" + token), std::nullopt);
  EXPECT_EQ(image_of_adding_name("img;adding;" + std::string(32, 'G')), std::nullopt);
}

RbdOptions read_options(const std::string& lines) {
  const OptionReader reader(ConfigFile::parse("[glance_store]\n" + lines), {"glance_store"}, "rbd");
  return RbdOptions::read(reader);
}

TEST(RbdOptions, DefaultsAreGlances) {
  const RbdOptions o = read_options("");
  EXPECT_EQ(o.pool, "images");
  EXPECT_EQ(o.user, std::nullopt);
  EXPECT_EQ(o.ceph_conf, "");
  EXPECT_EQ(o.chunk_size_mib, 8);
  EXPECT_EQ(o.order(), 23);
  EXPECT_EQ(o.connect_timeout, 0);
  EXPECT_EQ(o.effective_connect_timeout(), RbdOptions::kDefaultConnectTimeout);
  EXPECT_FALSE(o.thin_provisioning);
}

TEST(RbdOptions, OrderIsTheFloorOfLog2) {
  EXPECT_EQ(read_options("rbd_store_chunk_size = 1\n").order(), 20);
  EXPECT_EQ(read_options("rbd_store_chunk_size = 3\n").order(), 21);
  EXPECT_EQ(read_options("rbd_store_chunk_size = 32\n").order(), 25);
}

using OptionValue = std::pair<std::string, std::string>;

class RbdBadOptionTest : public ::testing::TestWithParam<OptionValue> {};

TEST_P(RbdBadOptionTest, IsBadStoreConfigurationNamingTheOption) {
  const auto& [option, value] = GetParam();
  try {
    read_options(option + " = " + value + "\n");
    ADD_FAILURE() << option << " = " << value << " accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreConfiguration);
    EXPECT_NE(e.message().find(option), std::string::npos) << e.message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RbdBadOptionTest,
    ::testing::Values(OptionValue{"rbd_store_chunk_size", "0"},
                      OptionValue{"rbd_store_chunk_size", "33"},
                      OptionValue{"rbd_store_chunk_size", "8M"},
                      OptionValue{"rados_connect_timeout", "soon"},
                      OptionValue{"rados_connect_timeout", "2147483648"},
                      OptionValue{"rbd_store_ceph_conf", std::string("/etc/ceph/a\0b", 13)},
                      OptionValue{"rbd_thin_provisioning", "maybe"},
                      OptionValue{"rbd_store_read_concurrency", "0"},
                      OptionValue{"rbd_store_ceph_conf", "/etc/ceph/" + std::string(256, 'c')}));

// The one errno mapper (spec rbd.md "Errors"): librbd's and librados' negative errno values.
TEST(RbdErrors, MapsErrnoToKinds) {
  const std::pair<int, ErrorKind> cases[] = {
      {ENOENT, ErrorKind::kNotFound},
      {EEXIST, ErrorKind::kDuplicate},
      {ENOSPC, ErrorKind::kStorageFull},
      {EDQUOT, ErrorKind::kStorageFull},
      {EBUSY, ErrorKind::kInUseByStore},
      {ENOTEMPTY, ErrorKind::kHasSnapshot},
      {EACCES, ErrorKind::kForbidden},
      {EPERM, ErrorKind::kForbidden},
      {ETIMEDOUT, ErrorKind::kRemoteServiceUnavailable},
      {EIO, ErrorKind::kBackendException},
      {EROFS, ErrorKind::kBackendException},
  };
  for (const auto& [err, kind] : cases) {
    const Error e = rbd_error(-err, "writing x");
    EXPECT_EQ(e.kind(), kind) << err;
    EXPECT_EQ(e.sys_errno(), err);
    EXPECT_EQ(e.message().rfind("writing x: ", 0), 0U) << e.message();
  }
  EXPECT_EQ(check(5, "x"), 5);
  EXPECT_THROW(check(-EIO, "x"), Error);
}

TEST(RbdErrors, ConnectFailuresTellConfigurationFromAClusterThatIsDown) {
  EXPECT_EQ(connect_error(-EACCES, "c").kind(), ErrorKind::kBadStoreConfiguration);
  EXPECT_EQ(connect_error(-ENOENT, "c").kind(), ErrorKind::kBadStoreConfiguration);
  EXPECT_EQ(connect_error(-ETIMEDOUT, "c").kind(), ErrorKind::kRemoteServiceUnavailable);
  EXPECT_EQ(connect_error(-ECONNREFUSED, "c").kind(), ErrorKind::kRemoteServiceUnavailable);
}

}  // namespace
}  // namespace glance_store::rbd
