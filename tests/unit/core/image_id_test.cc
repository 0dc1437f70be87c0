// The image-id rule as a property, through a real filesystem store of a legacy registry: every id
// add accepts gets a location that names exactly <datadir>/<id>, and get, size and delete of it
// reach that file and no other; every id it refuses is Invalid and leaves the datadir as it was.
// Whether an id is accepted is checked against a model of the rule written here, independently
// of src/core/image_id.cc (UTF-8 by Unicode's Table 3-7, whitespace as Python's str.isspace).
#include "glance_store/image_id.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "glance_store/backend.h"
#include "glance_store/error.h"
#include "glance_store/stream.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using testing::ListDir;
using testing::TempDir;

constexpr char kData[] = "xyz";
constexpr char kBystander[] = "bystander";
constexpr char kBystanderData[] = "keep me";
constexpr std::size_t kFsMaxId = 200;

std::string Hex(std::string_view id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "[" + std::to_string(id.size()) + " bytes]";
  for (unsigned char c : id) {
    out += ' ';
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string Utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// The code points of `s`, or nullopt unless it is well-formed UTF-8: each sequence is one row
// of Unicode's Table 3-7 (lead byte range, then the allowed range of the second byte).
std::optional<std::vector<char32_t>> Decode(std::string_view s) {
  struct Row {
    std::uint8_t lead_lo, lead_hi, second_lo, second_hi;
    int length;
  };
  static constexpr Row kRows[] = {{0xC2, 0xDF, 0x80, 0xBF, 2}, {0xE0, 0xE0, 0xA0, 0xBF, 3},
                                  {0xE1, 0xEC, 0x80, 0xBF, 3}, {0xED, 0xED, 0x80, 0x9F, 3},
                                  {0xEE, 0xEF, 0x80, 0xBF, 3}, {0xF0, 0xF0, 0x90, 0xBF, 4},
                                  {0xF1, 0xF3, 0x80, 0xBF, 4}, {0xF4, 0xF4, 0x80, 0x8F, 4}};
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto at = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
    if (at(i) < 0x80) {
      out.push_back(at(i++));
      continue;
    }
    const Row* row = nullptr;
    for (const Row& r : kRows) {
      if (at(i) >= r.lead_lo && at(i) <= r.lead_hi) row = &r;
    }
    if (row == nullptr || i + row->length > s.size()) return std::nullopt;
    if (at(i + 1) < row->second_lo || at(i + 1) > row->second_hi) return std::nullopt;
    char32_t cp = at(i) & (0xFF >> (row->length + 1));
    for (int k = 1; k < row->length; ++k) {
      if (k > 1 && (at(i + k) & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (at(i + k) & 0x3F);
    }
    out.push_back(cp);
    i += row->length;
  }
  return out;
}

// Python's str.isspace.
const std::vector<char32_t> kPythonSpaces = {
    0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x1C,   0x1D,   0x1E,   0x1F,   0x20,
    0x85,   0xA0,   0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
    0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
// Look like white space, but are not to Python: must not be refused for it.
const std::vector<char32_t> kNotSpaces = {0x180E, 0x200B, 0x2060, 0xFEFF};

bool IsSpace(char32_t cp) {
  return std::find(kPythonSpaces.begin(), kPythonSpaces.end(), cp) != kPythonSpaces.end();
}

// The rule of the issue, plus the filesystem store's own limits.
bool FsShouldAccept(std::string_view id) {
  if (id.empty() || id == "." || id == ".." || id.front() == '.' || id.size() > kFsMaxId) {
    return false;
  }
  const auto cps = Decode(id);
  if (!cps) return false;
  for (char32_t cp : *cps) {
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
    if (cp < 0x80 && std::string_view("/?#;@%").find(static_cast<char>(cp)) != std::string::npos) {
      return false;
    }
  }
  return !IsSpace(cps->front()) && !IsSpace(cps->back());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::optional<std::string> Field(const StoreLocation& location, std::string_view name) {
  for (const auto& field : location.fields()) {
    if (field.name == name) return field.value;
  }
  return std::nullopt;
}

// Ids covering every byte value, white space, random UTF-8 and random bytes (seeded).
std::vector<std::string> GeneratedIds() {
  std::vector<std::string> ids;
  for (int b = 0; b < 256; ++b) {
    const std::string c(1, static_cast<char>(b));
    ids.insert(ids.end(), {c, c + "ab", "a" + c + "b", "ab" + c});
  }
  std::vector<char32_t> spaces = kPythonSpaces;
  spaces.insert(spaces.end(), kNotSpaces.begin(), kNotSpaces.end());
  for (char32_t cp : spaces) {
    const std::string s = Utf8(cp);
    ids.insert(ids.end(), {s + "ab", "a" + s + "b", "ab" + s, s + s + "a", "a" + s + s});
  }

  std::mt19937 rng(20260402);
  const auto pick = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  const auto code_point = [&](bool safe) -> char32_t {
    static constexpr char kSafeAscii[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!$&'()*+,=:[]\\ "
        "\"<>^`{|}";
    for (;;) {
      const std::uint32_t kind = pick(100);
      char32_t cp = 0;
      if (kind < 40) {
        cp = static_cast<unsigned char>(kSafeAscii[pick(sizeof kSafeAscii - 1)]);
      } else if (kind < 55) {
        cp = 0xA0 + pick(0x800 - 0xA0);
      } else if (kind < 80) {
        cp = 0x800 + pick(0x10000 - 0x800);
      } else if (kind < 92) {
        cp = 0x10000 + pick(0x110000 - 0x10000);
      } else if (!safe) {
        cp = kind < 96 ? pick(0xA0) : kPythonSpaces[pick(kPythonSpaces.size())];
      } else {
        continue;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      return cp;
    }
  };
  for (int n = 0; n < 400; ++n) {
    const bool safe = n % 2 == 0;
    std::string id;
    for (std::uint32_t len = 1 + pick(60); len > 0; --len) id += Utf8(code_point(safe));
    ids.push_back(id);
  }
  // Malformed UTF-8: random bytes, and valid strings broken in one place.
  for (int n = 0; n < 150; ++n) {
    std::string id;
    for (std::uint32_t len = 1 + pick(40); len > 0; --len) id += static_cast<char>(pick(256));
    ids.push_back(id);
  }
  const std::vector<std::string> breakers = {"\x80",
                                             "\xbf",
                                             "\xc0\xaf",
                                             "\xc1\xbf",
                                             "\xe0\x80\xaf",
                                             "\xe0\x9f\xbf",
                                             "\xed\xa0\x80",
                                             "\xed\xbf\xbf",
                                             "\xf0\x8f\xbf\xbf",
                                             "\xf4\x90\x80\x80",
                                             "\xf5\x80\x80\x80",
                                             "\xf8\x88\x80\x80\x80",
                                             "\xfe",
                                             "\xff",
                                             "\xc3",
                                             "\xe2\x82",
                                             "\xf0\x9f\x98"};
  for (int n = 0; n < 150; ++n) {
    std::string id;
    for (std::uint32_t len = 1 + pick(20); len > 0; --len) id += Utf8(code_point(true));
    const std::string& bad = breakers[pick(breakers.size())];
    switch (pick(3)) {
      case 0:
        id.insert(pick(id.size() + 1), bad);  // may also split a sequence
        break;
      case 1:
        id.resize(id.size() - 1);  // truncates a multi-byte tail, if there is one
        id += bad;
        break;
      default:
        id[pick(id.size())] = static_cast<char>(0x80 + pick(0x80));
    }
    if (!id.empty()) ids.push_back(id);
  }
  // The filesystem store's length limit, in bytes.
  const std::string e_acute = "\xc3\xa9";
  for (const std::string& id :
       {std::string(kFsMaxId - 1, 'x'), std::string(kFsMaxId, 'x'), std::string(kFsMaxId + 1, 'x'),
        std::string(kFsMaxId - 1, 'x') + e_acute, std::string(kFsMaxId - 2, 'x') + e_acute,
        std::string(kFsMaxId - 4, 'x') + "\xf0\x9f\x98\x80", std::string(300, 'y')}) {
    ids.push_back(id);
  }

  // Each id once, in the order generated.
  std::set<std::string> seen;
  std::vector<std::string> unique;
  for (auto& id : ids) {
    if (seen.insert(id).second) unique.push_back(std::move(id));
  }
  return unique;
}

class ImageIdPropertyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = testing::legacy_registry(dir_.path());
    testing::write_file(dir_.sub(kBystander), kBystanderData);
  }

  // Adds kData as `id` and checks what the add did; true when the id was accepted.
  bool AddAndCheck(const std::string& id) {
    SCOPED_TRACE("image id " + Hex(id));
    const auto before = ListDir(dir_.path());
    MemoryInputStream in(kData);
    std::optional<AddResult> added;
    try {
      added = registry_->add(id, in, 3, "sha256");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalid) << e.message();
      EXPECT_EQ(ListDir(dir_.path()), before) << "a refused add left something";
      return false;
    }
    const std::string path = dir_.path() + "/" + id;
    const std::string& uri = added->location;
    EXPECT_EQ(uri, "file://" + path);
    std::unique_ptr<StoreLocation> location;
    try {
      location = registry_->parse_any(uri);
    } catch (const Error& e) {
      ADD_FAILURE() << "the location does not parse: " << e.message();
    }
    if (location) {
      EXPECT_EQ(Field(*location, "path"), path) << "the location names something else";
      EXPECT_EQ(location->uri(), uri);
    }
    EXPECT_EQ(ReadFile(path), kData);
    std::vector<std::string> with_image = before;
    with_image.push_back(id);
    std::sort(with_image.begin(), with_image.end());
    EXPECT_EQ(ListDir(dir_.path()), with_image) << "the add wrote something else too";

    try {
      EXPECT_EQ(testing::get_image(*registry_, uri), kData);
      EXPECT_EQ(registry_->get_size(uri), 3u);
      registry_->remove(uri);
    } catch (const Error& e) {
      ADD_FAILURE() << "get, size or delete of " << Hex(uri) << ": " << kind_name(e.kind()) << ": "
                    << e.message();
    }
    EXPECT_EQ(ListDir(dir_.path()), before) << "the delete removed something else or nothing";
    EXPECT_EQ(ReadFile(dir_.sub(kBystander)), kBystanderData);
    std::error_code ec;
    std::filesystem::remove(path, ec);  // a failed delete must not fail the ids after it
    return true;
  }

  TempDir dir_;
  std::unique_ptr<StoreRegistry> registry_;
};

TEST_F(ImageIdPropertyTest, EveryGeneratedIdFollowsTheRule) {
  const auto ids = GeneratedIds();
  std::size_t accepted = 0;
  for (const auto& id : ids) {
    const bool ok = AddAndCheck(id);
    EXPECT_EQ(ok, FsShouldAccept(id))
        << "image id " << Hex(id) << " was " << (ok ? "accepted" : "refused");
    accepted += ok ? 1 : 0;
  }
  std::cout << "image ids: " << ids.size() << " generated, " << accepted << " accepted, "
            << ids.size() - accepted << " refused\n";
  // Enough of each for the property to mean something.
  EXPECT_GT(accepted, 400u);
  EXPECT_GT(ids.size() - accepted, 400u);
}

TEST_F(ImageIdPropertyTest, AcceptsOrdinaryIds) {
  const std::vector<std::string> ids = {"3f1c9a52-0b5e-4c7e-9d0b-8a6f2e4d1c3b",
                                        "im\xc3\xa1g\xc3\xa9-\xc3\xa9",
                                        "a b",
                                        "a:b",
                                        "a+b",
                                        "[x]",
                                        "a&b=c",
                                        "a\\b",
                                        "a.",
                                        "a..b",
                                        "~",
                                        "\xf0\x9f\x98\x80",
                                        "a\xe2\x80\x8b",
                                        "\xef\xbb\xbf"
                                        "a"};
  for (const auto& id : ids) {
    EXPECT_TRUE(AddAndCheck(id)) << "image id " << Hex(id) << " was refused";
  }
}

TEST_F(ImageIdPropertyTest, RefusesIdsNoLocationCanName) {
  const std::vector<std::string> ids = {"",
                                        ".",
                                        "..",
                                        "a?b",
                                        "a#b",
                                        "a;b",
                                        "a@b",
                                        "a%41b",
                                        "a/b",
                                        " a",
                                        "a ",
                                        "a\xc2\xa0",
                                        "\xe3\x80\x80"
                                        "a",
                                        "a\xc2\x85"
                                        "b",
                                        "a\x7f",
                                        "a\tb",
                                        "\xff",
                                        "\xc0\xaf",
                                        "\xed\xa0\x80",
                                        "\xf4\x90\x80\x80",
                                        "a\xe2\x82",
                                        std::string("a\0b", 3)};
  for (const auto& id : ids) {
    EXPECT_FALSE(AddAndCheck(id)) << "image id " << Hex(id) << " was accepted";
  }
}

// The rule itself, without a store: the filesystem store's own limits do not apply.
TEST(CheckImageIdTest, StoreLimitsAreNotPartOfTheRule) {
  EXPECT_NO_THROW(check_image_id(".hidden"));
  EXPECT_NO_THROW(check_image_id(std::string(1000, 'x')));
  EXPECT_NO_THROW(check_image_id("..."));
  EXPECT_THROW(check_image_id("a\xe2\x80\xa8"), Error);
}

}  // namespace
}  // namespace glance_store
