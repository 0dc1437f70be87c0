// The read-only HTTP store against a real nginx (scripts/servers/http-origin): whole and ranged
// reads, glance_store's redirect rules and error kinds (HT-01…HT-17, Q-12), basic auth, TLS,
// forward proxies, and reads that resume after a broken connection (through the fault proxy).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/test_util.h"
#include "integration/http/http_server.h"

namespace glance_store::http::testing {
namespace {

using test_common::CatchError;
using test_common::FaultProxy;

constexpr std::uint64_t kSize = 1500000;
// The test user's password is gs:pass@word: written %-encoded in a URI.
constexpr const char* kEncodedPassword = "gs%3Apass%40word";

// Whether a message shows any part of a password of these tests.
void expect_no_secret(const Error& e) {
  for (const char* secret : {"pass", "word", "secret", "gs%3A", "proxypass", "wrongpw"}) {
    EXPECT_EQ(e.message().find(secret), std::string::npos) << secret << " in: " << e.message();
  }
}

class HttpStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http_url_ = origin_setting("GS_HTTP_URL");
    https_url_ = origin_setting("GS_HTTPS_URL");
    root_ = origin_setting("GS_HTTP_ROOT");
    ASSERT_FALSE(http_url_.empty() || https_url_.empty() || root_.empty())
        << "start the origin: scripts/servers/http-origin start";
    data_ = bytes_of(kSize, std::hash<std::string>{}(random_id("seed")));
    file_ = std::make_unique<OriginFile>(root_, random_id("gs-http-"), data_);
  }

  const std::string& name() const { return file_->name(); }
  // The file under one of the origin's routes (images, auth, redirect/N, …).
  std::string url(const std::string& route, const std::string& base = "") const {
    return (base.empty() ? http_url_ : base) + "/" + route + "/" + name();
  }
  // The same with the test user's credentials in the URI.
  std::string auth_url(const std::string& route, const std::string& base = "") const {
    const std::string plain = url(route, base);
    const std::size_t host = plain.find("://") + 3;
    return plain.substr(0, host) + origin_setting("GS_HTTP_USER") + ":" + kEncodedPassword + "@" +
           plain.substr(host);
  }

  std::string http_url_;
  std::string https_url_;
  std::string root_;
  std::string data_;
  std::unique_ptr<OriginFile> file_;
};

TEST_F(HttpStoreTest, ReadsByOffsetAndLength) {
  auto r = http_registry();
  const std::string uri = url("images");
  struct Case {
    std::uint64_t offset;
    std::optional<std::uint64_t> length;
    std::uint64_t expected_offset;
    std::uint64_t expected_size;
  };
  for (const Case& c :
       {Case{1000, std::nullopt, 1000, kSize - 1000}, Case{1000, 5000, 1000, 5000},
        Case{0, 1, 0, 1}, Case{0, 700000, 0, 700000}, Case{kSize - 1, std::nullopt, kSize - 1, 1},
        Case{kSize - 10, 100, kSize - 10, 10},  // a length past the end
        Case{100, 0, 100, kSize - 100},         // 0 means the rest
        Case{0, kSize + 5, 0, kSize}}) {
    SCOPED_TRACE(::testing::Message()
                 << c.offset << "+" << (c.length ? std::to_string(*c.length) : "none"));
    GetResult part = r->get(uri, c.offset, c.length);
    EXPECT_EQ(part.size, c.expected_size);
    const std::string got = read_all(*part.stream);
    EXPECT_EQ(got.size(), c.expected_size);
    EXPECT_TRUE(got == data_.substr(c.expected_offset, c.expected_size));
  }
}

TEST_F(HttpStoreTest, ARangedReadAsksTheServerForThoseBytesOnly) {
  auto r = http_registry();
  LogWatch access(origin_setting("GS_HTTP_ACCESS_LOG"));
  EXPECT_TRUE(read_all(*r->get(url("images"), 4000, 5000).stream) == data_.substr(4000, 5000));
  const auto lines = access.settled_lines(name(), 1);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_NE(lines[0].find("\" 206 5000 "), std::string::npos) << lines[0];
}

TEST_F(HttpStoreTest, OneStoreServesReadsFromSeveralThreadsAtOnce) {  // DRIVER_REUSABLE
  auto r = http_registry();
  std::vector<std::string> got(6);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        got[i] =
            read_all(*r->get(url(i % 2 == 0 ? "images" : "redirect/3"), i * 1000, 200000).stream);
      } catch (const Error& e) {
        got[i] = std::string("error: ") + e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i] == data_.substr(i * 1000, 200000)) << i << ": " << got[i].substr(0, 80);
  }
}

TEST_F(HttpStoreTest, RedirectsAreFollowedWithinFiveRequests) {  // HT-05, HT-06, Q-12
  auto r = http_registry();
  // Four hops: relative and absolute Locations, 301 and 302; the fifth request is the file.
  for (const std::string route : {"redirect/4", "abs-redirect/4", "redirect/1", "abs-redirect/3"}) {
    SCOPED_TRACE(route);
    GetResult result = r->get(url(route));
    EXPECT_EQ(result.size, kSize);
    EXPECT_TRUE(read_all(*result.stream) == data_);
    EXPECT_EQ(r->get_size(url(route)), kSize);
    GetResult part = r->get(url(route), 10, 20);
    EXPECT_TRUE(read_all(*part.stream) == data_.substr(10, 20));
  }
  for (const std::string route : {"redirect/5", "abs-redirect/5", "redirect/20", "loop"}) {
    SCOPED_TRACE(route);
    const Error get = CatchError([&, route = route] { r->get(url(route)); });
    EXPECT_EQ(get.kind(), ErrorKind::kMaxRedirectsExceeded) << get.message();
    EXPECT_EQ(get.message(), "The HTTP URL exceeded 5 maximum redirects.");
    EXPECT_EQ(CatchError([&, route = route] { r->get_size(url(route)); }).kind(),
              ErrorKind::kMaxRedirectsExceeded);
  }
}

TEST_F(HttpStoreTest, TwoRedirectsTakeThreeRequestsAndKeepTheQuery) {  // HT-04, HT-06
  auto r = http_registry();
  LogWatch access(origin_setting("GS_HTTP_ACCESS_LOG"));
  GetResult result = r->get(url("redirect/2") + "?sig=abc");
  EXPECT_EQ(result.size, kSize);
  EXPECT_TRUE(read_all(*result.stream) == data_);
  const auto lines = access.settled_lines(name(), 3);
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_NE(lines[0].find("GET /redirect/2/" + name() + "?sig=abc HTTP"), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[0].find("\" 301 "), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("GET /redirect/1/" + name() + "?sig=abc HTTP"), std::string::npos)
      << lines[1];
  EXPECT_NE(lines[1].find("\" 302 "), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("GET /images/" + name() + "?sig=abc HTTP"), std::string::npos)
      << lines[2];
  EXPECT_NE(lines[2].find("\" 200 "), std::string::npos) << lines[2];
}

TEST_F(HttpStoreTest, ALoopStopsAfterFiveRequests) {  // HT-06
  auto r = http_registry();
  LogWatch access(origin_setting("GS_HTTP_ACCESS_LOG"));
  EXPECT_EQ(CatchError([&] { r->get(url("loop")); }).kind(), ErrorKind::kMaxRedirectsExceeded);
  EXPECT_EQ(access.settled_lines(name(), 5).size(), 5U);
}

TEST_F(HttpStoreTest, ARedirectWithoutALocationIsBadStoreUri) {  // Q-12
  auto r = http_registry();
  for (const std::string route : {"noloc", "emptyloc"}) {
    SCOPED_TRACE(route);
    const Error get = CatchError([&, route = route] { r->get(url(route)); });
    EXPECT_EQ(get.kind(), ErrorKind::kBadStoreUri) << get.message();
    EXPECT_NE(get.message().find("302"), std::string::npos) << get.message();
    EXPECT_EQ(CatchError([&, route = route] { r->get_size(url(route)); }).kind(),
              ErrorKind::kBadStoreUri);
  }
}

TEST_F(HttpStoreTest, OnlyMovedAndFoundAreFollowed) {  // HT-07
  auto r = http_registry();
  for (const auto& [route, status] : std::vector<std::pair<std::string, std::string>>{
           {"see-other", "303"}, {"temp", "307"}, {"permanent", "308"}}) {
    SCOPED_TRACE(route);
    const Error get = CatchError([&, route = route] { r->get(url(route)); });
    EXPECT_EQ(get.kind(), ErrorKind::kBadStoreUri) << get.message();
    EXPECT_NE(
        get.message().find("attempted to redirect with an invalid " + status + " status code."),
        std::string::npos)
        << get.message();
    const Error size = CatchError([&, route = route] { r->get_size(url(route)); });
    EXPECT_EQ(size.kind(), ErrorKind::kBadStoreUri) << size.message();
    EXPECT_NE(size.message().find(status), std::string::npos) << size.message();
  }
}

TEST_F(HttpStoreTest, AMissingFileIsNotFound) {  // HT-08, HT-11
  auto r = http_registry();
  LogWatch access(origin_setting("GS_HTTP_ACCESS_LOG"));
  const std::string missing = http_url_ + "/images/" + name() + "-missing";
  const Error get = CatchError([&] { r->get(missing); });
  EXPECT_EQ(get.kind(), ErrorKind::kNotFound) << get.message();
  EXPECT_EQ(get.message(), "HTTP datastore could not find image at URI.");
  const Error size = CatchError([&] { r->get_size(missing); });
  EXPECT_EQ(size.kind(), ErrorKind::kNotFound) << size.message();
  // get_size asks once, with HEAD.
  const auto heads = access.settled_lines("HEAD /images/" + name() + "-missing", 1);
  EXPECT_EQ(heads.size(), 1U);
  EXPECT_EQ(access.lines(name() + "-missing").size(), 2U);  // the GET and the HEAD
  // At the end of redirects too.
  EXPECT_EQ(CatchError([&] { r->get(http_url_ + "/redirect/3/" + name() + "-missing"); }).kind(),
            ErrorKind::kNotFound);
  EXPECT_EQ(CatchError([&] { r->get(http_url_ + "/nosuchroute/" + name()); }).kind(),
            ErrorKind::kNotFound);
}

TEST_F(HttpStoreTest, OtherErrorStatusesAreBadStoreUriWithTheStatusAndBody) {  // HT-09
  auto r = http_registry();
  for (const std::string status : {"500", "403"}) {
    SCOPED_TRACE(status);
    const std::string uri = http_url_ + "/status/" + status;
    const Error get = CatchError([&] { r->get(uri); });
    EXPECT_EQ(get.kind(), ErrorKind::kBadStoreUri) << get.message();
    EXPECT_NE(get.message().find("HTTP URL /status/" + status + " returned a " + status +
                                 " status code."),
              std::string::npos)
        << get.message();
    EXPECT_NE(get.message().find("status " + status + " from the test route"), std::string::npos)
        << get.message();
    const Error size = CatchError([&] { r->get_size(uri); });
    EXPECT_EQ(size.kind(), ErrorKind::kBadStoreUri) << size.message();
    EXPECT_NE(size.message().find(status), std::string::npos) << size.message();
  }
}

TEST_F(HttpStoreTest, AnUnreachableServerIsUnavailableForGetAndInvalidForGetSize) {
  auto r = http_registry();  // HT-10, HT-12
  const std::string uri = "http://127.0.0.1:1/images/" + name();
  const Error get = CatchError([&] { r->get(uri); });
  EXPECT_EQ(get.kind(), ErrorKind::kRemoteServiceUnavailable) << get.message();
  EXPECT_EQ(get.message().rfind("Remote server where the image is present is unavailable", 0), 0U)
      << get.message();
  const Error size = CatchError([&] { r->get_size(uri); });
  EXPECT_EQ(size.kind(), ErrorKind::kBadStoreUri) << size.message();
  EXPECT_EQ(size.message().rfind("The HTTP URL is invalid", 0), 0U) << size.message();
}

TEST_F(HttpStoreTest, BasicAuthTakesTheDecodedCredentialsOfTheUri) {
  auto r = http_registry();
  LogWatch access(origin_setting("GS_HTTP_ACCESS_LOG"));
  GetResult result = r->get(auth_url("auth"));
  EXPECT_EQ(result.size, kSize);
  EXPECT_TRUE(read_all(*result.stream) == data_);
  EXPECT_EQ(r->get_size(auth_url("auth")), kSize);
  EXPECT_TRUE(read_all(*r->get(auth_url("auth"), 77, 1000).stream) == data_.substr(77, 1000));
  const auto lines = access.settled_lines(name(), 3);
  ASSERT_EQ(lines.size(), 3U);
  for (const auto& line : lines) {
    EXPECT_NE(line.find(" - gsuser ["), std::string::npos) << line;  // nginx's $remote_user
  }
  // Credentials on a route that needs none do no harm.
  EXPECT_TRUE(read_all(*r->get(auth_url("images")).stream) == data_);
}

TEST_F(HttpStoreTest, MissingOrWrongCredentialsAreBadStoreUriWithoutTheSecret) {
  auto r = http_registry();
  const Error anonymous = CatchError([&] { r->get(url("auth")); });
  EXPECT_EQ(anonymous.kind(), ErrorKind::kBadStoreUri) << anonymous.message();
  EXPECT_NE(anonymous.message().find("401"), std::string::npos) << anonymous.message();
  const Error anonymous_size = CatchError([&] { r->get_size(url("auth")); });
  EXPECT_EQ(anonymous_size.kind(), ErrorKind::kBadStoreUri);
  EXPECT_NE(anonymous_size.message().find("401"), std::string::npos);
  // A wrong password, and the password as written (once more encoded) instead of decoded.
  const std::string host = http_url_.substr(7);
  for (const std::string& uri :
       {"http://gsuser:wrongpw%40secret@" + host + "/auth/" + name(),
        "http://gsuser:" + std::string("gs%253Apass%2540word") + "@" + host + "/auth/" + name()}) {
    SCOPED_TRACE(uri);
    const Error e = CatchError([&] { r->get(uri); });
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << e.message();
    EXPECT_NE(e.message().find(" returned a 401 "), std::string::npos) << e.message();
    expect_no_secret(e);
    expect_no_secret(CatchError([&] { r->get_size(uri); }));
  }
}

// The password written raw (not %-encoded) makes a URI with two '@': malformed, and its message
// must not show the password, whatever part of the user information it is taken to be.
TEST_F(HttpStoreTest, AMalformedUriWithARawPasswordDoesNotShowIt) {
  auto r = http_registry();
  const std::string uri = "http://gsuser:gs:pass@word@" + http_url_.substr(7) + "/auth/" + name();
  const Error get = CatchError([&] { r->get(uri); });
  EXPECT_EQ(get.kind(), ErrorKind::kBadStoreUri) << get.message();
  expect_no_secret(get);
  const Error size = CatchError([&] { r->get_size(uri); });
  EXPECT_EQ(size.kind(), ErrorKind::kBadStoreUri) << size.message();
  expect_no_secret(size);
}

TEST_F(HttpStoreTest, NoErrorShowsThePassword) {
  auto strict = http_registry("https_insecure = false\n");
  const std::string host = http_url_.substr(7);
  const std::string credentials = "gsuser:" + std::string(kEncodedPassword) + "@";
  for (const auto& [uri, kind] : std::vector<std::pair<std::string, ErrorKind>>{
           {auth_url("auth") + "-missing", ErrorKind::kNotFound},
           {auth_url("loop"), ErrorKind::kMaxRedirectsExceeded},
           {auth_url("noloc"), ErrorKind::kBadStoreUri},
           {auth_url("temp"), ErrorKind::kBadStoreUri},
           {"http://" + credentials + host + "/status/500", ErrorKind::kBadStoreUri},
           {"http://" + credentials + "127.0.0.1:1/x", ErrorKind::kRemoteServiceUnavailable},
           {"http://" + credentials + "127.0.0.1:abc/x", ErrorKind::kBadStoreUri},
           {auth_url("images", https_url_), ErrorKind::kRemoteServiceUnavailable}}) {
    SCOPED_TRACE(uri);
    const Error get = CatchError([&, uri = uri] { strict->get(uri); });
    EXPECT_EQ(get.kind(), kind) << get.message();
    expect_no_secret(get);
    expect_no_secret(CatchError([&, uri = uri] { strict->get_size(uri); }));
  }
  // Nor the password of a proxy.
  auto proxied =
      http_registry("http_proxy_information = http:http://gsproxy:proxypass@127.0.0.1:1\n");
  const Error proxy = CatchError([&] { proxied->get(url("images")); });
  EXPECT_EQ(proxy.kind(), ErrorKind::kRemoteServiceUnavailable) << proxy.message();
  expect_no_secret(proxy);
  expect_no_secret(CatchError([&] { proxied->get_size(url("images")); }));
}

TEST_F(HttpStoreTest, HttpsWithTheConfiguredCa) {  // HT-15
  auto r = http_registry("https_ca_certificates_file = " + origin_setting("GS_HTTP_CA") +
                         "\nhttps_insecure = false\n");
  GetResult result = r->get(url("images", https_url_));
  EXPECT_EQ(result.size, kSize);
  EXPECT_TRUE(read_all(*result.stream) == data_);
  EXPECT_EQ(r->get_size(url("images", https_url_)), kSize);
  EXPECT_TRUE(read_all(*r->get(url("redirect/3", https_url_), 5, 50).stream) ==
              data_.substr(5, 50));
  EXPECT_TRUE(read_all(*r->get(auth_url("auth", https_url_)).stream) == data_);
}

TEST_F(HttpStoreTest, HttpsIsNotVerifiedByDefault) {  // HT-15
  auto r = http_registry();
  EXPECT_TRUE(read_all(*r->get(url("images", https_url_)).stream) == data_);
  EXPECT_EQ(r->get_size(url("images", https_url_)), kSize);
  auto insecure = http_registry("https_insecure = true\n");
  EXPECT_TRUE(read_all(*insecure->get(url("images", https_url_)).stream) == data_);
}

TEST_F(HttpStoreTest, HttpsVerifiedWithoutTheCaFails) {  // HT-15
  auto r = http_registry("https_insecure = false\n");
  const Error get = CatchError([&] { r->get(url("images", https_url_)); });
  EXPECT_EQ(get.kind(), ErrorKind::kRemoteServiceUnavailable) << get.message();
  const Error size = CatchError([&] { r->get_size(url("images", https_url_)); });
  EXPECT_EQ(size.kind(), ErrorKind::kBadStoreUri) << size.message();
  // A CA file is the trust store even with https_insecure: one that does not know the origin's
  // CA fails.
  const std::string bundle = "/etc/ssl/certs/ca-certificates.crt";
  ASSERT_TRUE(std::filesystem::exists(bundle));
  auto other_ca =
      http_registry("https_ca_certificates_file = " + bundle + "\nhttps_insecure = true\n");
  EXPECT_EQ(CatchError([&] { other_ca->get(url("images", https_url_)); }).kind(),
            ErrorKind::kRemoteServiceUnavailable);
  // Plain http is not affected.
  EXPECT_TRUE(read_all(*r->get(url("images")).stream) == data_);
}

TEST_F(HttpStoreTest, AnHttpProxyCarriesHttpRequests) {  // HT-16
  const std::string proxy = authority_of(origin_setting("GS_HTTP_PROXY"));
  ASSERT_FALSE(proxy.empty());
  LogWatch proxy_log(origin_setting("GS_HTTP_PROXY_LOG"));
  auto r = http_registry("http_proxy_information = http:" + proxy + "\n");
  GetResult result = r->get(url("redirect/2"));
  EXPECT_EQ(result.size, kSize);
  EXPECT_TRUE(read_all(*result.stream) == data_);
  EXPECT_EQ(r->get_size(url("images")), kSize);
  const auto requests = proxy_log.settled_lines(name(), 4);
  EXPECT_EQ(requests.size(), 4U) << proxy_log.added();
  for (const auto& line : requests) {
    EXPECT_NE(line.find(http_url_ + "/"), std::string::npos) << line;
  }
  // A proxy that cannot be reached is what fails, not the origin; it is the http scheme's
  // only: an https URL goes direct.
  auto dead = http_registry("http_proxy_information = http:127.0.0.1:1\n");
  EXPECT_EQ(CatchError([&] { dead->get(url("images")); }).kind(),
            ErrorKind::kRemoteServiceUnavailable);
  EXPECT_TRUE(read_all(*dead->get(url("images", https_url_)).stream) == data_);
}

TEST_F(HttpStoreTest, AnHttpsProxyTunnelsWithConnect) {  // HT-16
  const std::string proxy = authority_of(origin_setting("GS_HTTP_PROXY"));
  ASSERT_FALSE(proxy.empty());
  LogWatch proxy_log(origin_setting("GS_HTTP_PROXY_LOG"));
  auto r = http_registry("http_proxy_information = https:" + proxy + "\n");
  GetResult result = r->get(url("images", https_url_));
  EXPECT_TRUE(read_all(*result.stream) == data_);
  const auto tunnels = proxy_log.settled_lines("CONNECT " + authority_of(https_url_), 1);
  EXPECT_GE(tunnels.size(), 1U) << proxy_log.added();
  // http goes direct.
  LogWatch after(origin_setting("GS_HTTP_PROXY_LOG"));
  EXPECT_TRUE(read_all(*r->get(url("images")).stream) == data_);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(after.lines(name()).size(), 0U);
  auto dead = http_registry("http_proxy_information = https:127.0.0.1:1, http:" + proxy + "\n");
  EXPECT_EQ(CatchError([&] { dead->get(url("images", https_url_)); }).kind(),
            ErrorKind::kRemoteServiceUnavailable);
  EXPECT_TRUE(read_all(*dead->get(url("images")).stream) == data_);
}

TEST_F(HttpStoreTest, AProxyWithAuthenticationTakesItsCredentials) {  // HT-16
  const std::string auth_proxy = origin_setting("GS_HTTP_AUTH_PROXY");
  ASSERT_NE(auth_proxy.find('@'), std::string::npos) << auth_proxy;
  LogWatch proxy_log(origin_setting("GS_HTTP_AUTH_PROXY_LOG"));
  auto r = http_registry("http_proxy_information = http:" + auth_proxy + "\n");
  EXPECT_TRUE(read_all(*r->get(url("images")).stream) == data_);
  EXPECT_EQ(r->get_size(url("images")), kSize);
  EXPECT_EQ(proxy_log.settled_lines(name(), 2).size(), 2U) << proxy_log.added();
  // Without credentials the proxy answers 407 (tinyproxy answers wrong ones with a 401).
  for (const std::string& proxy : {"http://" + authority_of(auth_proxy),
                                   "http://gsproxy:wrongpw@" + authority_of(auth_proxy)}) {
    SCOPED_TRACE(proxy);
    auto refused = http_registry("http_proxy_information = http:" + proxy + "\n");
    const Error e = CatchError([&] { refused->get(url("images")); });
    EXPECT_EQ(e.kind(), ErrorKind::kBadStoreUri) << e.message();
    const bool anonymous = proxy.find('@') == std::string::npos;
    EXPECT_NE(e.message().find(anonymous ? " returned a 407 " : " returned a 401 "),
              std::string::npos)
        << e.message();
    expect_no_secret(e);
  }
}

TEST_F(HttpStoreTest, AddAndDeleteAreRefused) {  // HT-13, HT-14
  auto r = http_registry();
  Store& store = r->store_by_name("http");
  EXPECT_EQ(store.type(), "http");
  EXPECT_FALSE(store.add_enabled());
  EXPECT_TRUE(store.capabilities().is_capable(Capability::kReadRandom));
  EXPECT_TRUE(store.capabilities().is_capable(Capability::kDriverReusable));
  EXPECT_FALSE(store.capabilities().is_capable(Capability::kWriteAccess));
  EXPECT_EQ(&r->store_for_scheme("https"), &store);
  EXPECT_EQ(store.url_prefix(), "");  // legacy mode (HT-17 gives "http" in multi-store mode)
  for (const std::string backend : {"http", ""}) {
    SCOPED_TRACE(backend);
    MemoryInputStream in("abc");
    const Error add = CatchError([&] { r->add(random_id("id-"), in, 3, "sha512", backend); });
    EXPECT_EQ(add.kind(), ErrorKind::kStoreAddDisabled) << add.message();
  }
  const Error remove = CatchError([&] { r->remove(url("images")); });
  EXPECT_EQ(remove.kind(), ErrorKind::kStoreDeleteNotSupported) << remove.message();
  const Error direct = CatchError([&] { store.remove(*store.parse_location(url("images"))); });
  EXPECT_EQ(direct.kind(), ErrorKind::kStoreDeleteNotSupported);
  // Nothing was deleted.
  EXPECT_TRUE(std::filesystem::exists(file_->path()));
  EXPECT_EQ(r->get_size(url("images")), kSize);
}

// A body without Content-Length (nginx's SSI filter sends it chunked) streams whole; its size
// is unknown, as glance_store's 0.
// The response buffer hands bytes straight to a waiting reader and keeps the rest, pausing the
// transfer above 1 MiB: reads of any size, by a reader that falls behind (the socket fills while
// it sleeps), get every byte once and in order.
TEST_F(HttpStoreTest, ReadsOfAnySizeAndPaceGetEveryByteInOrder) {
  const std::string data = bytes_of(6 << 20, 11);
  OriginFile big(root_, random_id("gs-http-big-"), data);
  auto r = http_registry();
  GetResult result = r->get(http_url_ + "/images/" + big.name());
  const std::size_t sizes[] = {1, 7, 65536, 3, (1 << 20) + 5, 100000, 2 << 20};
  std::vector<std::byte> buffer(2 << 20);
  std::string got;
  for (std::size_t i = 0;; ++i) {
    if (i == 1 || i == 20) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::size_t n = result.stream->read(std::span(buffer).first(sizes[i % std::size(sizes)]));
    if (n == 0) break;
    got.append(reinterpret_cast<const char*>(buffer.data()), n);
  }
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST_F(HttpStoreTest, ABodyOfUnknownLengthStreamsWhole) {
  auto r = http_registry();
  GetResult got = r->get(url("chunked"));
  EXPECT_FALSE(got.size_known);
  EXPECT_EQ(got.size, 0U);
  EXPECT_TRUE(read_all(*got.stream) == data_);
  // A read by offset needs the length to know what it gets.
  const Error ranged = CatchError([&] { r->get(url("chunked"), 10, 100); });
  EXPECT_EQ(ranged.kind(), ErrorKind::kBackendException) << ranged.message();
}

// A stream keeps what it reads from alive: the registry may go first.
TEST_F(HttpStoreTest, AStreamOutlivesItsRegistry) {
  auto r = http_registry();
  GetResult whole = r->get(url("images"));
  GetResult chunked = r->get(url("chunked"));
  r.reset();
  EXPECT_TRUE(read_all(*whole.stream) == data_);
  EXPECT_TRUE(read_all(*chunked.stream) == data_);
}

// --- Reads that resume: the fault proxy between the store and nginx cuts response bodies.

class HttpResumeTest : public HttpStoreTest {
 protected:
  void SetUp() override {
    HttpStoreTest::SetUp();
    if (HasFatalFailure()) return;
    proxy_ = std::make_unique<FaultProxy>(http_url_);
  }
  void cut(const std::optional<int>& times, std::uint64_t after_bytes) {
    nlohmann::json rule = {{"method", "GET"},
                           {"path_regex", name()},
                           {"action", "cut_response"},
                           {"after_bytes", after_bytes}};
    rule["times"] = times ? nlohmann::json(*times) : nlohmann::json(nullptr);
    proxy_->rules(nlohmann::json::array({rule}));
    proxy_->clear_log();
  }
  std::string via_proxy() const { return proxy_->url() + "/images/" + name(); }

  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(HttpResumeTest, BrokenReadsResumeWithIdenticalBytes) {
  auto r = http_registry();
  LogWatch access(origin_setting("GS_HTTP_ACCESS_LOG"));
  cut(2, 300000);
  GetResult whole = r->get(via_proxy());
  EXPECT_EQ(whole.size, kSize);
  const std::string got = read_all(*whole.stream);
  EXPECT_EQ(got.size(), kSize);
  EXPECT_TRUE(got == data_);
  EXPECT_EQ(proxy_->count("GET", name()), 3);
  // The resumes ask for the rest only.
  const auto lines = access.settled_lines(name(), 3);
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.find("\" 206 ") != l.npos; }),
            2)
      << lines[0] << "\n"
      << lines[1] << "\n"
      << lines[2];
  // A ranged read resumes inside its range.
  cut(3, 100000);
  GetResult part = r->get(via_proxy(), 1000, 500000);
  EXPECT_EQ(part.size, 500000U);
  EXPECT_TRUE(read_all(*part.stream) == data_.substr(1000, 500000));
  EXPECT_EQ(proxy_->count("GET", name()), 4);
}

// A body cut before its first byte: the get may fail at once (the store does not resume a
// response that brought no byte) or resume, but it never delivers short data.
TEST_F(HttpResumeTest, ABodyCutBeforeItsFirstByteIsNeverShort) {
  auto r = http_registry();
  cut(1, 0);
  try {
    GetResult result = r->get(via_proxy());
    EXPECT_TRUE(read_all(*result.stream) == data_);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kRemoteServiceUnavailable) << e.message();
  }
  EXPECT_GE(proxy_->count("GET", name()), 1);
  // Cut before the first byte of a resume: that resume counts as one more.
  proxy_->rules(nlohmann::json::array({{{"method", "GET"},
                                        {"path_regex", name()},
                                        {"action", "cut_response"},
                                        {"after_bytes", 200000}},
                                       {{"method", "GET"},
                                        {"path_regex", name()},
                                        {"skip", 1},
                                        {"times", 2},
                                        {"action", "cut_response"},
                                        {"after_bytes", 0}}}));
  proxy_->clear_log();
  GetResult result = r->get(via_proxy());
  EXPECT_TRUE(read_all(*result.stream) == data_);
  EXPECT_EQ(proxy_->count("GET", name()), 4);
}

TEST_F(HttpResumeTest, FiveResumesAreTheLimit) {
  auto r = http_registry();
  cut(5, 200000);
  EXPECT_TRUE(read_all(*r->get(via_proxy()).stream) == data_);
  EXPECT_EQ(proxy_->count("GET", name()), 6);
  cut(6, 200000);
  GetResult result = r->get(via_proxy());
  std::uint64_t delivered = 0;
  const Error e = CatchError([&] {
    std::vector<std::byte> buffer(65536);
    while (const std::size_t n = result.stream->read(buffer)) delivered += n;
  });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_NE(e.message().find("resumes"), std::string::npos) << e.message();
  EXPECT_LT(delivered, kSize);
  EXPECT_EQ(proxy_->count("GET", name()), 6);
}

TEST_F(HttpResumeTest, AReadThatNeverCompletesFailsInsteadOfReturningShortData) {
  auto r = http_registry();
  cut(std::nullopt, 100000);
  GetResult result = r->get(via_proxy(), 50, 1000000);
  const Error e = CatchError([&] { read_all(*result.stream); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_EQ(proxy_->count("GET", name()), 6);  // the first request and five resumes
}

TEST_F(HttpResumeTest, AFileChangedBeforeTheResumeIsNotMixedIn) {
  auto r = http_registry();
  LogWatch access(origin_setting("GS_HTTP_ACCESS_LOG"));
  constexpr std::uint64_t kCut = 300000;
  cut(1, kCut);
  GetResult result = r->get(via_proxy());
  // Read exactly the bytes before the cut: the reader has not noticed the break yet.
  std::string head;
  std::vector<std::byte> buffer(65536);
  while (head.size() < kCut) {
    const std::size_t want = std::min<std::uint64_t>(buffer.size(), kCut - head.size());
    const std::size_t n = result.stream->read(std::span(buffer).first(want));
    ASSERT_GT(n, 0U);
    head.append(reinterpret_cast<const char*>(buffer.data()), n);
  }
  EXPECT_TRUE(head == data_.substr(0, kCut));
  ASSERT_EQ(proxy_->count("GET", name()), 1) << "the read resumed before the file changed";
  // Another size gives another ETag whatever the clock says.
  file_->write(bytes_of(kSize + 1, 99));
  const Error e = CatchError([&] { read_all(*result.stream); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
  EXPECT_NE(e.message().find("changed"), std::string::npos) << e.message();
  EXPECT_EQ(proxy_->count("GET", name()), 2);
  const auto lines = access.settled_lines(name(), 2);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_NE(lines[1].find("\" 412 "), std::string::npos) << lines[1];
}

// A server error while resuming is retried like a broken connection.
TEST_F(HttpResumeTest, AServerErrorWhileResumingIsTriedAgain) {
  auto r = http_registry();
  proxy_->rules(nlohmann::json::array({{{"method", "GET"},
                                        {"path_regex", name()},
                                        {"action", "cut_response"},
                                        {"after_bytes", 200000}},
                                       {{"method", "GET"},
                                        {"path_regex", name()},
                                        {"skip", 1},
                                        {"action", "status"},
                                        {"status", 503},
                                        {"body", "busy"}}}));
  proxy_->clear_log();
  GetResult whole = r->get(via_proxy());
  EXPECT_TRUE(read_all(*whole.stream) == data_);
  EXPECT_EQ(proxy_->count("GET", name()), 3);
}

// A chunked body cut mid-way cannot resume: the read fails with a store error, not short data.
TEST_F(HttpResumeTest, ACutBodyOfUnknownLengthIsAnError) {
  auto r = http_registry();
  cut(1, 100000);
  GetResult got = r->get(proxy_->url() + "/chunked/" + name());
  EXPECT_FALSE(got.size_known);
  const Error e = CatchError([&] { read_all(*got.stream); });
  EXPECT_EQ(e.kind(), ErrorKind::kBackendException) << e.message();
}

}  // namespace
}  // namespace glance_store::http::testing
