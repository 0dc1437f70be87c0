// http:// and https:// locations parsed and written as glance_store does (behaviours L-09…L-12),
// with our own rules for credentials, `;params` and a second '@'.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/test_util.h"
#include "drivers/http/http_location.h"
#include "glance_store/error.h"

namespace glance_store::http {
namespace {

using test_common::CatchError;

Error parse_error(const std::string& uri) {
  return CatchError([&] { HttpLocation::parse(uri); });
}

std::optional<std::string> field(const HttpLocation& loc, const std::string& name) {
  for (const auto& f : loc.fields()) {
    if (f.name == name) return f.value;
  }
  ADD_FAILURE() << "no field " << name;
  return std::nullopt;
}

TEST(HttpLocation, ValidLocationsOfGlance) {  // L-09
  for (const std::string uri :
       {"http://127.0.0.1:8000/ubuntu.iso", "http://openstack.com:80/ubuntu.iso",
        "http://[1080::8:800:200C:417A]:80/ubuntu.iso"}) {
    SCOPED_TRACE(uri);
    const auto loc = HttpLocation::parse(uri);
    EXPECT_EQ(loc->scheme(), "http");
    EXPECT_EQ(loc->path(), "/ubuntu.iso");
    EXPECT_EQ(loc->uri(), uri);
    EXPECT_EQ(loc->request_url(), uri);
  }
  const auto v6 = HttpLocation::parse("http://[1080::8:800:200C:417A]:80/ubuntu.iso");
  EXPECT_EQ(v6->netloc(), "[1080::8:800:200C:417A]:80");
  const auto https = HttpLocation::parse("https://example.com:8443/path/image.img");
  EXPECT_EQ(https->scheme(), "https");
  EXPECT_EQ(https->netloc(), "example.com:8443");
  EXPECT_EQ(https->path(), "/path/image.img");
  EXPECT_FALSE(https->user().has_value());
  EXPECT_FALSE(https->password().has_value());
}

TEST(HttpLocation, NonNumericPortIsBadStoreUri) {  // L-10
  for (const std::string uri :
       {"http://127.0.0.1:~/ubuntu.iso", "http://openstack.com:some_text/ubuntu.iso",
        "http://[1080::8:800:200C:417A]:some_text/ubuntu.iso", "http://example.com:8o/x",
        "https://user:pass@example.com:abc/x"}) {
    const Error e = parse_error(uri);
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << uri;
    EXPECT_NE(e.message().find("The Store URI was malformed"), std::string::npos) << e.message();
  }
  EXPECT_EQ(parse_error("http://example.com:abc/x").message(),
            "The Store URI was malformed: http://example.com:abc/x");
}

TEST(HttpLocation, Ipv6PortIsWhatFollowsTheClosingBracket) {  // L-10
  // The colons inside the brackets are not a port.
  const auto bare = HttpLocation::parse("http://[::1]/x");
  EXPECT_EQ(bare->netloc(), "[::1]");
  EXPECT_EQ(bare->uri(), "http://[::1]/x");
  const auto ported = HttpLocation::parse("http://[2001:db8::1]:8080/x");
  EXPECT_EQ(ported->netloc(), "[2001:db8::1]:8080");
  EXPECT_EQ(parse_error("http://[2001:db8::1]:abc/x").kind(), ErrorKind::kBadStoreUri);
  EXPECT_EQ(parse_error("http://[2001:db8::1]:80a/x").kind(), ErrorKind::kBadStoreUri);
  // An unterminated literal is Python's ValueError: a BadStoreUri here.
  EXPECT_EQ(parse_error("http://[::1/x").kind(), ErrorKind::kBadStoreUri);
}

TEST(HttpLocation, EmptyAndOutOfRangePortsAreAcceptedAsGlanceDoes) {
  EXPECT_EQ(HttpLocation::parse("http://example.com:/x")->uri(), "http://example.com:/x");
  EXPECT_EQ(HttpLocation::parse("http://example.com:65536/x")->netloc(), "example.com:65536");
}

TEST(HttpLocation, QueryIsKeptAndFragmentDropped) {  // L-11
  const auto loc = HttpLocation::parse("http://netloc/path/to/file.tar.gz?query=text");
  EXPECT_EQ(loc->uri(), "http://netloc/path/to/file.tar.gz?query=text");
  EXPECT_EQ(loc->request_url(), "http://netloc/path/to/file.tar.gz?query=text");
  EXPECT_EQ(field(*loc, "query"), "query=text");
  const auto two = HttpLocation::parse("http://example.com/x?a=1&b=2");
  EXPECT_EQ(two->uri(), "http://example.com/x?a=1&b=2");
  const auto fragment = HttpLocation::parse("http://example.com/x?a=1#frag");
  EXPECT_EQ(fragment->uri(), "http://example.com/x?a=1");
  EXPECT_EQ(fragment->path(), "/x");
  EXPECT_EQ(HttpLocation::parse("http://example.com/x#frag")->uri(), "http://example.com/x");
  EXPECT_EQ(HttpLocation::parse("http://example.com/x?")->uri(), "http://example.com/x");
}

TEST(HttpLocation, ParamsStayInThePath) {
  const auto loc = HttpLocation::parse("http://example.com/dir;v=1/image;type=i?q=1");
  EXPECT_EQ(loc->path(), "/dir;v=1/image;type=i");
  EXPECT_EQ(loc->uri(), "http://example.com/dir;v=1/image;type=i?q=1");
  EXPECT_EQ(loc->request_url(), "http://example.com/dir;v=1/image;type=i?q=1");
}

TEST(HttpLocation, PathIsKeptAsWritten) {
  for (const std::string uri :
       {"http://example.com/", "http://example.com/x/", "http://example.com//double//slash",
        "http://example.com/a%20b", "http://example.com", "http://example.com/x://y",
        "http://EXAMPLE.com/X"}) {
    EXPECT_EQ(HttpLocation::parse(uri)->uri(), uri);
  }
  EXPECT_EQ(HttpLocation::parse("http://example.com")->path(), "");
  EXPECT_EQ(HttpLocation::parse("http://EXAMPLE.com/X")->netloc(), "EXAMPLE.com");
}

TEST(HttpLocation, CredentialsAreWrittenBackAsWrittenAndHiddenWhenRedacted) {  // L-12
  const std::string uri = "https://user:p%40ss@[2001:db8::1]:8443/img?sig=abc";
  const auto loc = HttpLocation::parse(uri);
  EXPECT_EQ(loc->user(), "user");
  EXPECT_EQ(loc->password(), "p%40ss");
  EXPECT_EQ(loc->netloc(), "[2001:db8::1]:8443");
  EXPECT_EQ(loc->path(), "/img");
  EXPECT_EQ(loc->uri(), uri);
  EXPECT_EQ(loc->uri(true), "https://user:***@[2001:db8::1]:8443/img?sig=abc");
  EXPECT_EQ(loc->request_url(), "https://[2001:db8::1]:8443/img?sig=abc");
  const auto encoded = HttpLocation::parse("http://gs%3Auser:gs%3Apass%40word@127.0.0.1:18380/a");
  EXPECT_EQ(encoded->user(), "gs%3Auser");
  EXPECT_EQ(encoded->password(), "gs%3Apass%40word");
  EXPECT_EQ(encoded->uri(), "http://gs%3Auser:gs%3Apass%40word@127.0.0.1:18380/a");
  EXPECT_EQ(encoded->uri(true), "http://gs%3Auser:***@127.0.0.1:18380/a");
  EXPECT_EQ(encoded->uri(true).find("pass"), std::string::npos);
  EXPECT_EQ(encoded->request_url(), "http://127.0.0.1:18380/a");
  EXPECT_EQ(encoded->request_url().find('@'), std::string::npos);
}

TEST(HttpLocation, PasswordFieldIsSecret) {
  const auto loc = HttpLocation::parse("http://u:secret@example.com/x?q");
  bool seen = false;
  for (const auto& f : loc->fields()) {
    if (f.name == "password") {
      seen = true;
      EXPECT_TRUE(f.secret);
      EXPECT_EQ(f.value, "secret");
    } else {
      EXPECT_FALSE(f.secret) << f.name;
    }
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(field(*loc, "scheme"), "http");
  EXPECT_EQ(field(*loc, "netloc"), "example.com");
  EXPECT_EQ(field(*loc, "path"), "/x");
  EXPECT_EQ(field(*loc, "user"), "u");
  EXPECT_EQ(field(*loc, "query"), "q");
  const auto anonymous = HttpLocation::parse("http://example.com/x");
  EXPECT_EQ(field(*anonymous, "user"), std::nullopt);
  EXPECT_EQ(field(*anonymous, "password"), std::nullopt);
  EXPECT_EQ(field(*anonymous, "query"), "");
}

TEST(HttpLocation, EmptyCredentialsAreKeptWhenWrittenBack) {
  // glance_store drops ":@" (a corpus quirk); ours writes the URI back as written.
  const auto loc = HttpLocation::parse("http://:@example.com/x");
  EXPECT_EQ(loc->user(), "");
  EXPECT_EQ(loc->password(), "");
  EXPECT_EQ(loc->netloc(), "example.com");
  EXPECT_EQ(loc->uri(), "http://:@example.com/x");
  EXPECT_EQ(loc->request_url(), "http://example.com/x");
  const auto empty_password = HttpLocation::parse("http://user:@example.com/x");
  EXPECT_EQ(empty_password->password(), "");
  EXPECT_EQ(empty_password->uri(), "http://user:@example.com/x");
}

TEST(HttpLocation, CredentialsWithoutExactlyOneColonAreNotWellFormatted) {  // L-12
  for (const std::string uri : {"http://user@example.com/x", "http://user:pa:ss@example.com/x"}) {
    const Error e = parse_error(uri);
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << uri;
    EXPECT_EQ(e.message(), "Credentials are not well-formatted.") << uri;
  }
}

TEST(HttpLocation, TwoAtSignsAreBadStoreUriWithoutTheSecret) {
  // Python's urlsplit ends the user information at the last '@': every piece of what it would
  // take for the password stays out of the message.
  for (const auto& [uri, pieces] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"http://user:secret@word@example.com/x", {"secret", "word"}},
           {"http://us@er:secret@example.com/x", {"secret"}},
           {"https://user:secret@@example.com/x", {"secret"}}}) {
    const Error e = parse_error(uri);
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << uri;
    for (const auto& piece : pieces) {
      EXPECT_EQ(e.message().find(piece), std::string::npos) << piece << " in: " << e.message();
    }
  }
}

TEST(HttpLocation, OnlyLowerCaseHttpAndHttpsWithTwoSlashes) {
  for (const std::string uri : {"http:/x", "HTTP://example.com/x", "Https://example.com/x",
                                "http:x", "ftp://example.com/x", " http://example.com/x"}) {
    const Error e = parse_error(uri);
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << uri;
    EXPECT_EQ(e.message(),
              "Location URI must start with one of the following schemas: https://, http://")
        << uri;
  }
}

TEST(HttpLocation, EmptyHostIsMalformed) {  // L-12
  EXPECT_EQ(parse_error("http:///x").message(), "The Store URI was malformed: http:///x");
  for (const std::string uri : {"https:///x", "http://", "http://user:pw@/x", "http://:@/x"}) {
    const Error e = parse_error(uri);
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << uri;
    EXPECT_EQ(e.message().find("pw@"), std::string::npos) << e.message();
  }
}

TEST(HttpLocation, WrittenBackUrisParseToTheSameLocation) {
  for (const std::string uri :
       {"http://u:p%3Aw@h:1/a;b?c=d", "https://[::1]:443/x?y", "http://:@h/x", "http://h"}) {
    const auto loc = HttpLocation::parse(uri);
    const auto again = HttpLocation::parse(loc->uri());
    EXPECT_EQ(again->uri(), loc->uri()) << uri;
    EXPECT_EQ(again->netloc(), loc->netloc()) << uri;
    EXPECT_EQ(again->path(), loc->path()) << uri;
    EXPECT_EQ(again->user(), loc->user()) << uri;
    EXPECT_EQ(again->password(), loc->password()) << uri;
  }
}

}  // namespace
}  // namespace glance_store::http
