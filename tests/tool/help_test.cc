// The tool's own documentation: `COMMAND --help`, the man page built from the same texts, and
// the README and docs/ pages it points to.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tool/tool_runner.h"

namespace glance_store::tool_test {
namespace {

namespace fs = std::filesystem;

struct CommandCase : NamedCase {
  const char* command;
  std::vector<std::string> options;  // each must appear in the help and in the man page
};

class HelpTest : public ToolTest, public ::testing::WithParamInterface<CommandCase> {};

TEST_P(HelpTest, ExplainsTheCommandItsOptionsAndAnExample) {
  const CommandCase& c = GetParam();
  const RunResult help = RunTool({c.command, "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  EXPECT_EQ(help.err, "");
  EXPECT_NE(help.out.find(std::string("glance-store ") + c.command), std::string::npos) << help.out;
  for (const std::string& option : c.options) {
    EXPECT_NE(help.out.find(option), std::string::npos) << option << " not in:\n" << help.out;
  }
  EXPECT_NE(help.out.find("Exit codes of note"), std::string::npos) << help.out;
  const std::size_t example = help.out.find("Example:\n");
  ASSERT_NE(example, std::string::npos) << help.out;
  EXPECT_NE(help.out.find(std::string("  glance-store "), example), std::string::npos) << help.out;
}

TEST_P(HelpTest, HasASectionInTheManPage) {
  const std::string page = ReadFile(GLANCE_STORE_MAN_PAGE);
  const std::string heading = std::string(".SS \"glance-store ") + GetParam().command + "\"\n";
  const std::size_t section = page.find(heading);
  ASSERT_NE(section, std::string::npos) << heading << " not in the man page";
  const std::size_t next = page.find("\n.S", section + heading.size());
  const std::string text = page.substr(section, next - section);
  for (std::string option : GetParam().options) {
    // roff writes '-' as "\-".
    option = std::regex_replace(option, std::regex("-"), "\\-");
    EXPECT_NE(text.find(option), std::string::npos) << option << " not in:\n" << text;
  }
  EXPECT_NE(text.find("Example:"), std::string::npos) << text;
}

INSTANTIATE_TEST_SUITE_P(
    Commands, HelpTest,
    ::testing::Values(
        CommandCase{{"add"}, "add", {"--image-id", "--size", "--hash-algo", "--show-credentials"}},
        CommandCase{{"get"}, "get", {"uri", "--offset", "--length", "--output", "--checksum"}},
        CommandCase{{"copy"},
                    "copy",
                    {"uri", "--to", "--image-id", "--checksum", "--multihash", "--hash-algo"}},
        CommandCase{{"verify"}, "verify", {"uri", "--checksum", "--multihash", "--hash-algo"}},
        CommandCase{{"size"}, "size", {"uri"}}, CommandCase{{"delete"}, "delete", {"uri"}},
        CommandCase{{"parse_uri"}, "parse-uri", {"uri", "--show-credentials"}},
        CommandCase{{"stores"}, "stores", {}}),
    CaseName());

TEST(ManPageTest, IsRoffWithTheUsualSections) {
  const std::string page = ReadFile(GLANCE_STORE_MAN_PAGE);
  EXPECT_EQ(page.rfind(".TH GLANCE\\-STORE 1 ", 0), 0u) << page.substr(0, 80);
  for (const char* section : {".SH NAME\n", ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".SH OPTIONS\n",
                              ".SH COMMANDS\n", ".SH EXIT STATUS\n", ".SH ENVIRONMENT\n"}) {
    EXPECT_NE(page.find(section), std::string::npos) << section;
  }
  EXPECT_NE(page.find("16  BadStoreConfiguration\n"), std::string::npos);
}

const fs::path kSource = GLANCE_STORE_SOURCE_DIR;

std::vector<fs::path> MarkdownPages() {
  std::vector<fs::path> pages{kSource / "README.md"};
  for (const auto& entry : fs::recursive_directory_iterator(kSource / "docs")) {
    if (entry.path().extension() == ".md") pages.push_back(entry.path());
  }
  return pages;
}

// A newcomer reads it in five minutes; the reference lives in docs/.
TEST(ReadmeTest, IsShort) {
  const std::string readme = ReadFile(kSource / "README.md");
  const auto lines = std::count(readme.begin(), readme.end(), '\n');
  EXPECT_LE(lines, 150) << "README.md has " << lines << " lines: move the details to docs/";
}

TEST(ReadmeTest, LinksToTheDocsPages) {
  const std::string readme = ReadFile(kSource / "README.md");
  for (const char* page : {"docs/tool.md", "docs/configuration.md", "docs/filesystem.md",
                           "docs/s3.md", "docs/swift.md", "docs/http.md", "docs/locations.md",
                           "docs/benchmarks.md", "docs/testing.md", "docs/glance.md"}) {
    EXPECT_NE(readme.find(std::string("](") + page + ")"), std::string::npos) << page;
  }
}

// Every relative link of README.md and docs/ names a file that exists.
TEST(ReadmeTest, EveryRelativeLinkResolves) {
  const std::regex link(R"(\]\(([^)\s]+)\))");
  int checked = 0;
  for (const fs::path& page : MarkdownPages()) {
    const std::string text = ReadFile(page);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link);
         it != std::sregex_iterator(); ++it) {
      std::string target = (*it)[1].str();
      if (target.find("://") != std::string::npos || target.starts_with("#") ||
          target.starts_with("mailto:")) {
        continue;
      }
      target = target.substr(0, target.find('#'));
      EXPECT_TRUE(fs::exists(page.parent_path() / target))
          << page.lexically_relative(kSource) << " links to " << target << ", which is missing";
      ++checked;
    }
  }
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace glance_store::tool_test
