// ConfigFile (oslo.config's INI dialect) and OptionReader (typed lookups along a section chain,
// C-36..C-38).
#include "glance_store/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "glance_store/error.h"
#include "unit/core/test_support.h"

namespace glance_store {
namespace {

using ::testing::AllOf;
using testing::CatchError;
using ::testing::ElementsAre;
using testing::HasKind;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TempDir;

using Values = std::vector<std::string>;

TEST(ConfigFileTest, ReadsSectionsAndBothSeparators) {
  const auto file = ConfigFile::parse(
      "[DEFAULT]\n"
      "enabled_backends = a:file, b:file\n"
      "[glance_store]\n"
      "default_store=file\n"
      "stores: file, http\n"
      "spaced   =   value with  inner  spaces   \n");
  EXPECT_THAT(file.sections(), ElementsAre("DEFAULT", "glance_store"));
  EXPECT_THAT(file.values("DEFAULT", "enabled_backends"), ElementsAre("a:file, b:file"));
  EXPECT_THAT(file.values("glance_store", "default_store"), ElementsAre("file"));
  EXPECT_THAT(file.values("glance_store", "stores"), ElementsAre("file, http"));
  EXPECT_THAT(file.values("glance_store", "spaced"), ElementsAre("value with  inner  spaces"));
  EXPECT_TRUE(file.has_section("glance_store"));
  EXPECT_FALSE(file.has_section("nope"));
  EXPECT_THAT(file.values("nope", "stores"), IsEmpty());
  EXPECT_THAT(file.values("glance_store", "nope"), IsEmpty());
}

TEST(ConfigFileTest, TheFirstSeparatorSplits) {
  const auto file = ConfigFile::parse("[s]\na = b:c\nd: e=f\ng=h=i\n");
  EXPECT_THAT(file.values("s", "a"), ElementsAre("b:c"));
  EXPECT_THAT(file.values("s", "d"), ElementsAre("e=f"));
  EXPECT_THAT(file.values("s", "g"), ElementsAre("h=i"));
}

TEST(ConfigFileTest, SkipsCommentsAndBlankLines) {
  const auto file = ConfigFile::parse(
      "# leading comment\n"
      "\n"
      "[s]\n"
      "; semicolon comment\n"
      "#key = commented out\n"
      "key = value # not a comment\n"
      "\n");
  EXPECT_FALSE(file.has("s", "#key"));
  EXPECT_THAT(file.values("s", "key"), ElementsAre("value # not a comment"));
}

TEST(ConfigFileTest, ContinuationLines) {
  const auto file = ConfigFile::parse(
      "[s]\n"
      "datadirs =\n"
      "    /a:100\n"
      "\t/b:200\n"
      "next = 1\n"
      "blank_ends = x\n"
      "\n"
      "after = 2\n");
  EXPECT_THAT(file.values("s", "datadirs"), ElementsAre("\n/a:100\n/b:200"));
  EXPECT_THAT(file.values("s", "next"), ElementsAre("1"));
  EXPECT_THAT(file.values("s", "blank_ends"), ElementsAre("x"));
  EXPECT_THAT(file.values("s", "after"), ElementsAre("2"));
}

// As oslo.config's iniparser (checked against python3-oslo.config): a line starting with a
// space or a tab continues the value, its leading whitespace dropped and joined with '\n', an
// indented '#' line included; a blank (or whitespace-only) line, a comment or a section header
// ends the value; whitespace other than space and tab does not continue.
TEST(ConfigFileTest, ContinuationLinesJoinAsOsloConfigDoes) {
  const auto file = ConfigFile::parse(
      "[s]\n"
      "text = first\n"
      "    second   \n"
      "\t\tthird\n"
      "  # not a comment here\n"
      "stores = file,\n"
      "  http ,\n"
      "\ts3\n"
      "number = 5\n"
      "  6\n"
      "ended = x\n"
      "   \n"
      "quoted = \"a\n"
      "  b\"\n");
  EXPECT_THAT(file.values("s", "text"), ElementsAre("first\nsecond\nthird\n# not a comment here"));
  EXPECT_THAT(file.values("s", "stores"), ElementsAre("file,\nhttp ,\ns3"));
  EXPECT_THAT(split_oslo_list(file.values("s", "stores").front()),
              ElementsAre("file", "http", "s3"));
  EXPECT_THAT(file.values("s", "ended"), ElementsAre("x"));
  EXPECT_THAT(file.values("s", "quoted"), ElementsAre("\"a\nb\""));  // quotes of one line only
  // A continued integer is no integer (oslo.config: invalid literal for int() '5\n6').
  const OptionReader reader(file, {"s"}, "filesystem");
  EXPECT_THROW(reader.get_int("number", 0), InvalidOptionValue);
}

TEST(ConfigFileTest, StripsOnePairOfSurroundingQuotes) {
  const auto file = ConfigFile::parse(
      "[s]\n"
      "double = \"a value\"\n"
      "single = 'x'\n"
      "nested = \"'y'\"\n"
      "doubled = \"\"z\"\"\n"
      "mixed = \"w'\n"
      "inner = a \"b\" c\n"
      "empty = \"\"\n"
      "lone = \"\n");
  EXPECT_THAT(file.values("s", "double"), ElementsAre("a value"));
  EXPECT_THAT(file.values("s", "single"), ElementsAre("x"));
  EXPECT_THAT(file.values("s", "nested"), ElementsAre("'y'"));
  EXPECT_THAT(file.values("s", "doubled"), ElementsAre("\"z\""));
  EXPECT_THAT(file.values("s", "mixed"), ElementsAre("\"w'"));
  EXPECT_THAT(file.values("s", "inner"), ElementsAre("a \"b\" c"));
  EXPECT_THAT(file.values("s", "empty"), ElementsAre(""));
  EXPECT_THAT(file.values("s", "lone"), ElementsAre(""));  // oslo.config: value[1:-1]
  const auto kept = ConfigFile::parse("[s]\ndouble = \"a value\"\nlone = '\n", "", false);
  EXPECT_THAT(kept.values("s", "double"), ElementsAre("\"a value\""));
  EXPECT_THAT(kept.values("s", "lone"), ElementsAre("'"));
}

TEST(ConfigFileTest, KeepsEveryOccurrenceOfARepeatedKeyInFileOrder) {
  const auto file = ConfigFile::parse("[s]\nd = /one\nd = /two\n[t]\nd = other\n[s]\nd = /three\n");
  EXPECT_THAT(file.values("s", "d"), ElementsAre("/one", "/two", "/three"));
  EXPECT_THAT(file.values("t", "d"), ElementsAre("other"));
}

// oslo.config: group names other than DEFAULT match case-insensitively; option names do not.
TEST(ConfigFileTest, SectionNamesIgnoreCaseButOptionNamesDoNot) {
  const auto file = ConfigFile::parse(
      "[Glance_Store]\nKey = 1\n[glance_store]\nkey = 2\n[DEFAULT]\nx = 3\n[default]\nx = 4\n");
  EXPECT_THAT(file.values("glance_store", "Key"), ElementsAre("1"));
  EXPECT_THAT(file.values("GLANCE_STORE", "key"), ElementsAre("2"));
  EXPECT_THAT(file.values("glance_store", "KEY"), IsEmpty());
  EXPECT_THAT(file.values("DEFAULT", "x"), ElementsAre("3"));
  EXPECT_THAT(file.values("default", "x"), ElementsAre("4"));
}

TEST(ConfigFileTest, EmptyValuesAndEmptySectionsExist) {
  const auto file = ConfigFile::parse("[empty]\n[s]\nkey =\n");
  EXPECT_TRUE(file.has_section("empty"));
  EXPECT_TRUE(file.has("s", "key"));
  EXPECT_THAT(file.values("s", "key"), ElementsAre(""));
  EXPECT_FALSE(file.has("s", "other"));
  EXPECT_FALSE(file.has("nope", "key"));
}

TEST(ConfigFileTest, ToleratesCrLfAndNoFinalNewline) {
  const auto file = ConfigFile::parse("[s]\r\na = 1\r\nb = 2");
  EXPECT_THAT(file.values("s", "a"), ElementsAre("1"));
  EXPECT_THAT(file.values("s", "b"), ElementsAre("2"));
}

TEST(ConfigFileTest, SetReplacesValues) {
  auto file = ConfigFile::parse("[s]\na = 1\na = 2\n");
  file.set("s", "a", {"3"});
  file.set("new", "b", {"x", "y"});
  EXPECT_THAT(file.values("s", "a"), ElementsAre("3"));
  EXPECT_THAT(file.values("new", "b"), ElementsAre("x", "y"));
  EXPECT_TRUE(file.has_section("new"));
}

struct SyntaxErrorCase {
  const char* name;
  const char* text;
  int line;  // the line the message must name
};

class ConfigSyntaxErrorTest : public ::testing::TestWithParam<SyntaxErrorCase> {};

TEST_P(ConfigSyntaxErrorTest, ThrowsBadStoreConfigurationNamingOriginAndLine) {
  const Error e = CatchError([] { ConfigFile::parse(GetParam().text, "glance-api.conf"); });
  EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
  EXPECT_THAT(e.message(), HasSubstr("glance-api.conf:" + std::to_string(GetParam().line)));
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ConfigSyntaxErrorTest,
    ::testing::Values(SyntaxErrorCase{"OptionBeforeSection", "a = 1\n[s]\n", 1},
                      SyntaxErrorCase{"OptionBeforeSectionLater", "\n\nkey = v\n", 3},
                      SyntaxErrorCase{"MissingBracket", "[s]\na = 1\n[broken\n", 3},
                      SyntaxErrorCase{"EmptySectionName", "[]\n", 1},
                      SyntaxErrorCase{"NoSeparator", "[s]\njust words\n", 2},
                      SyntaxErrorCase{"EmptyKey", "[s]\n= value\n", 2},
                      SyntaxErrorCase{"LeadingContinuation", "  indented\n[s]\n", 1},
                      SyntaxErrorCase{"ContinuationAfterABlankLine", "[s]\na = 1\n\n  b\n", 4},
                      SyntaxErrorCase{"ContinuationAfterAWhitespaceLine", "[s]\na = 1\n \t\n  b\n",
                                      4},
                      SyntaxErrorCase{"ContinuationAfterAComment", "[s]\na = 1\n# c\n  b\n", 4},
                      SyntaxErrorCase{"ContinuationAfterASection", "[s]\na = 1\n[t]\n  b\n", 4},
                      SyntaxErrorCase{"FormFeedIsNoContinuation", "[s]\na = 1\n\f b\n", 3}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigFileTest, LoadReadsAFileAndRemembersItsPath) {
  TempDir dir;
  const std::string path = dir.sub("glance-api.conf");
  testing::write_file(path, "[glance_store]\nstores = file\n");
  const auto file = ConfigFile::load(path);
  EXPECT_EQ(file.origin(), path);
  EXPECT_THAT(file.values("glance_store", "stores"), ElementsAre("file"));
}

TEST(ConfigFileTest, LoadOfAMissingFileIsBadStoreConfiguration) {
  TempDir dir;
  const Error e = CatchError([&] { ConfigFile::load(dir.sub("missing.conf")); });
  EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
  EXPECT_THAT(e.message(), HasSubstr("missing.conf"));
}

TEST(OsloParsersTest, Booleans) {
  // oslo.config's types.Boolean: exactly these words, in any case.
  for (const char* yes : {"1", "true", "on", "yes", "True", "TRUE", "On", " yes "}) {
    EXPECT_EQ(parse_oslo_bool(yes), std::optional<bool>(true)) << yes;
  }
  for (const char* no : {"0", "false", "off", "no", "False", "NO"}) {
    EXPECT_EQ(parse_oslo_bool(no), std::optional<bool>(false)) << no;
  }
  for (const char* bad : {"", "2", "maybe", "yess", "truee", "enabled", "t", "y", "f", "n"}) {
    EXPECT_EQ(parse_oslo_bool(bad), std::nullopt) << bad;
  }
}

TEST(OsloParsersTest, Integers) {
  EXPECT_EQ(parse_oslo_int("42"), 42);
  EXPECT_EQ(parse_oslo_int(" 7 "), 7);
  EXPECT_EQ(parse_oslo_int("+5"), 5);
  EXPECT_EQ(parse_oslo_int("-3"), -3);
  EXPECT_EQ(parse_oslo_int("9223372036854775807"), INT64_MAX);
  // Python's int(): underscores between digits, leading zeros.
  EXPECT_EQ(parse_oslo_int("1_000"), 1000);
  EXPECT_EQ(parse_oslo_int("-1_0_0"), -100);
  EXPECT_EQ(parse_oslo_int("007"), 7);
  for (const char* bad : {"", " ", "abc", "12abc", "1.5", "0x10", "--1", "+", "-",
                          "99999999999999999999", "1__0", "_1", "1_", "+_1", "1 0", "1e3"}) {
    EXPECT_EQ(parse_oslo_int(bad), std::nullopt) << bad;
  }
}

TEST(OsloParsersTest, Lists) {
  EXPECT_THAT(split_oslo_list("file, http ,s3"), ElementsAre("file", "http", "s3"));
  EXPECT_THAT(split_oslo_list(" a ,, b , "), ElementsAre("a", "b"));
  EXPECT_THAT(split_oslo_list(""), IsEmpty());
  EXPECT_THAT(split_oslo_list(" , "), IsEmpty());
  EXPECT_THAT(split_oslo_list("single"), ElementsAre("single"));
}

// A backend view: [foo] first, then [backend_defaults] (C-36..C-38).
class OptionReaderTest : public ::testing::Test {
 protected:
  static ConfigFile file() {
    return ConfigFile::parse(
        "[foo]\n"
        "str_opt = notbar\n"
        "empty_opt =\n"
        "int_opt = 12\n"
        "bad_int = twelve\n"
        "low_int = 0\n"
        "high_int = 101\n"
        "huge_int = 99999999999999999999\n"
        "bool_opt = yes\n"
        "bad_bool = maybe\n"
        "list_opt = a, b,,c \n"
        "multi_opt = /one\n"
        "multi_opt =\n"
        "multi_opt = /two\n"
        "[backend_defaults]\n"
        "str_opt = bar\n"
        "default_only = from-defaults\n"
        "empty_opt = not-reached\n"
        "bool_default = off\n"
        "multi_default = /d1\n"
        "multi_default = /d2\n"
        "multi_opt = /never\n");
  }
  const ConfigFile file_ = file();
  const OptionReader reader_{file_, {"foo", "backend_defaults"}, "filesystem"};
};

TEST_F(OptionReaderTest, BackendValueWinsOverDefaultsWhichWinOverFallback) {
  EXPECT_EQ(reader_.get_string("str_opt"), "notbar");
  EXPECT_EQ(reader_.get_string("default_only"), "from-defaults");
  EXPECT_EQ(reader_.get_string("unset_opt", "STR_OPT"), "STR_OPT");
  EXPECT_EQ(reader_.get_string("unset_opt"), std::nullopt);
  EXPECT_FALSE(reader_.get_bool("unset_bool", false));
  EXPECT_EQ(reader_.get_int("unset_int", 1), 1);
}

TEST_F(OptionReaderTest, DefaultsAloneBackTheBackend) {
  const OptionReader defaults_only(file_, {"bar", "backend_defaults"}, "filesystem");
  EXPECT_EQ(defaults_only.get_string("str_opt"), "bar");
  EXPECT_EQ(defaults_only.raw("int_opt"), std::nullopt);
}

TEST_F(OptionReaderTest, RawReturnsTheLastValueOfTheFirstSectionThatSetsIt) {
  EXPECT_EQ(reader_.raw("str_opt"), "notbar");
  EXPECT_EQ(reader_.raw("multi_opt"), "/two");
  EXPECT_EQ(reader_.raw("empty_opt"), "");
  EXPECT_EQ(reader_.raw("nope"), std::nullopt);
}

TEST_F(OptionReaderTest, EmptyStringCountsAsUnsetButStopsTheChain) {
  EXPECT_EQ(reader_.get_string("empty_opt"), std::nullopt);
}

TEST_F(OptionReaderTest, Booleans) {
  EXPECT_TRUE(reader_.get_bool("bool_opt", false));
  EXPECT_FALSE(reader_.get_bool("bool_default", true));
  EXPECT_TRUE(reader_.get_bool("unset", true));
}

TEST_F(OptionReaderTest, MalformedBooleanIsAnInvalidOptionValue) {
  try {
    reader_.get_bool("bad_bool", false);
    FAIL() << "no error";
  } catch (const InvalidOptionValue& e) {
    EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
    EXPECT_THAT(e.message(), AllOf(HasSubstr("Store filesystem could not be configured"),
                                   HasSubstr("[foo]"), HasSubstr("bad_bool"), HasSubstr("maybe")));
  }
}

TEST_F(OptionReaderTest, Integers) {
  EXPECT_EQ(reader_.get_int("int_opt", 1), 12);
  EXPECT_EQ(reader_.get_int("int_opt", 1, 12, 12), 12);  // bounds are inclusive
  EXPECT_EQ(reader_.get_int("empty_opt", 7), 7);
}

struct BadIntCase {
  const char* option;
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
  const char* value_in_message;
};

class OptionReaderIntErrorTest : public OptionReaderTest,
                                 public ::testing::WithParamInterface<BadIntCase> {};

TEST_P(OptionReaderIntErrorTest, ThrowsInvalidOptionValueNamingSectionAndOption) {
  try {
    reader_.get_int(GetParam().option, 5, GetParam().min, GetParam().max);
    FAIL() << "no error";
  } catch (const InvalidOptionValue& e) {
    EXPECT_THAT(e, HasKind(ErrorKind::kBadStoreConfiguration));
    EXPECT_THAT(e.message(),
                AllOf(HasSubstr("Store filesystem could not be configured correctly. Reason: "),
                      HasSubstr("[foo]"), HasSubstr(GetParam().option),
                      HasSubstr(GetParam().value_in_message)));
  }
}

INSTANTIATE_TEST_SUITE_P(Values, OptionReaderIntErrorTest,
                         ::testing::Values(BadIntCase{"bad_int", std::nullopt, std::nullopt,
                                                      "twelve"},
                                           BadIntCase{"low_int", 1, std::nullopt, "0"},
                                           BadIntCase{"high_int", 0, 100, "101"},
                                           BadIntCase{"huge_int", std::nullopt, std::nullopt,
                                                      "value 99999999999999999999 is out of the "
                                                      "range of a 64-bit integer"}),
                         [](const auto& info) { return std::string(info.param.option); });

TEST(OptionReaderPathTest, PathsNoSystemCallCouldTakeAreInvalidOptionValues) {
  const std::string component(255, 'c');
  std::string longest;  // 4095 bytes
  while (longest.size() < 4095)
    longest += "/" + std::string(std::min<std::size_t>(99, 4094 - longest.size()), 'p');
  const auto file = ConfigFile::parse("[s]\nok = /srv/" + component + "/x\nlongest = " + longest +
                                      "\nempty =\ncomponent = /srv/" + component +
                                      "c/x\ntotal = " + longest + "p\n");
  const OptionReader reader(file, {"s"}, "s3");
  EXPECT_EQ(reader.get_path("ok"), "/srv/" + component + "/x");
  EXPECT_EQ(reader.get_path("longest"), longest);
  EXPECT_EQ(reader.get_path("empty", "/fallback"), std::nullopt);
  EXPECT_EQ(reader.get_path("unset", "/fallback"), "/fallback");
  for (const char* name : {"component", "total"}) {
    try {
      reader.get_path(name);
      ADD_FAILURE() << name << " accepted";
    } catch (const InvalidOptionValue& e) {
      EXPECT_THAT(e.message(), HasSubstr(std::string("option [s] ") + name + ": ")) << name;
    }
  }
  EXPECT_THROW(reader.check_path("ok", std::string("/a\0b", 4)), InvalidOptionValue);
}

TEST(OptionReaderChoiceTest, ExactlyOneOfTheChoicesAndNeverEmpty) {
  const auto file = ConfigFile::parse("[s]\ngood = b\ncase = B\nempty =\nother = c\n");
  const OptionReader reader(file, {"s"}, "swift");
  EXPECT_EQ(reader.get_choice("good", "a", {"a", "b"}), "b");
  EXPECT_EQ(reader.get_choice("unset", "a", {"a", "b"}), "a");
  for (const char* name : {"case", "empty", "other"}) {
    try {
      reader.get_choice(name, "a", {"a", "b"});
      ADD_FAILURE() << name << " accepted";
    } catch (const InvalidOptionValue& e) {
      EXPECT_THAT(e.message(), HasSubstr(std::string("option [s] ") + name + ": ")) << name;
      EXPECT_THAT(e.message(), HasSubstr("is not one of a, b")) << name;
    }
  }
}

TEST_F(OptionReaderTest, FailNamesStoreSectionAndOption) {
  try {
    reader_.fail("str_opt", "because");
    FAIL() << "no error";
  } catch (const InvalidOptionValue& e) {
    EXPECT_THAT(e.message(), AllOf(HasSubstr("filesystem"), HasSubstr("[foo]"),
                                   HasSubstr("str_opt"), HasSubstr("because")));
  }
}

TEST_F(OptionReaderTest, MultiValuedOptionsComeFromTheFirstSectionThatSetsThem) {
  EXPECT_THAT(reader_.get_multi("multi_opt"), ElementsAre("/one", "/two"));
  EXPECT_THAT(reader_.get_multi("multi_default"), ElementsAre("/d1", "/d2"));
  EXPECT_THAT(reader_.get_multi("unset"), IsEmpty());
}

TEST_F(OptionReaderTest, Lists) {
  EXPECT_THAT(reader_.get_list("list_opt"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(reader_.get_list("unset", {"file", "http"}), ElementsAre("file", "http"));
  EXPECT_THAT(reader_.get_list("empty_opt", {"x"}), IsEmpty());
}

TEST_F(OptionReaderTest, Accessors) {
  EXPECT_THAT(reader_.sections(), ElementsAre("foo", "backend_defaults"));
  EXPECT_EQ(reader_.store_name(), "filesystem");
}

TEST(OptionReaderLegacyTest, ReadsOnlyItsSection) {
  const auto file = ConfigFile::parse("[glance_store]\na = 1\n[backend_defaults]\nb = 2\n");
  const OptionReader reader(file, {"glance_store"}, "filesystem");
  EXPECT_EQ(reader.get_int("a", 0), 1);
  EXPECT_EQ(reader.get_int("b", 0), 0);
}

}  // namespace
}  // namespace glance_store
