// Writes the glance-store(1) man page from the CLI11 app and the help texts of help.h, so the
// page and `COMMAND --help` cannot drift apart. CMake runs `glance-store --man FILE` after the
// build.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

#include "help.h"

namespace glance_store::cli {

/// `text` with roff's special characters escaped: a backslash, a '-' (else a hyphen, which
/// breaks copied options), and a '.' or '\'' starting a line.
inline std::string roff_escape(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

/// Paragraphs (separated by blank lines) as filled roff paragraphs.
inline std::string roff_paragraphs(std::string_view text) {
  std::string out = ".PP\n";
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    out += line.empty() ? ".PP\n" : roff_escape(line) + "\n";
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return out;
}

/// Lines kept as they are (examples, tables of codes), indented.
inline std::string roff_verbatim(std::string_view text) {
  return ".PP\n.RS 4\n.nf\n" + roff_escape(text) + (text.ends_with('\n') ? "" : "\n") +
         ".fi\n.RE\n";
}

/// One `.TP` entry per option of `app` (its help flag left out).
inline std::string roff_options(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* option : app.get_options()) {
    if (option == app.get_help_ptr() || option->get_group().empty()) continue;
    std::string name = option->get_name(false, true);
    // Flags have no type name; options show theirs (TEXT, N), as --help does.
    if (!option->get_positional() && !option->get_type_name().empty()) {
      name += " " + option->get_type_name();
    }
    out += ".TP\n.B " + roff_escape(name) + "\n" + roff_escape(option->get_description()) + "\n";
  }
  return out;
}

/// The whole page.
inline std::string man_page(const CLI::App& app) {
  std::string page =
      ".TH GLANCE\\-STORE 1 \"\" \"glance-store\" \"User Commands\"\n"
      ".nh\n.ad l\n"
      ".SH NAME\nglance\\-store \\- " +
      roff_escape(kToolSummary) +
      "\n.SH SYNOPSIS\n.B glance\\-store\n"
      "[\\-\\-config FILE] [\\-\\-backend NAME] [\\-v] COMMAND [ARGS...]\n"
      ".SH DESCRIPTION\n" +
      roff_paragraphs(kToolDetails) + ".SH OPTIONS\n" + roff_options(app) + ".SH COMMANDS\n";
  for (const CommandHelp& help : kCommandHelp) {
    const CLI::App* command = app.get_subcommand(std::string(help.name));
    page += ".SS \"glance-store " + std::string(help.name) + "\"\n" + roff_escape(help.summary) +
            ".\n" + roff_paragraphs(help.details) + roff_options(*command) +
            ".PP\nExit codes of note:\n" + roff_verbatim(help.exit_codes) + ".PP\nExample:\n" +
            roff_verbatim(help.example);
  }
  page += ".SH EXIT STATUS\n" + roff_verbatim(exit_code_help()) +
          ".SH ENVIRONMENT\n.TP\n.B GLANCE_STORE_CONFIG\n"
          "the glance\\-api.conf to use when \\-\\-config is not given\n"
          ".TP\n.B XDG_DATA_HOME\nwhere the built\\-in store keeps its images "
          "(default ~/.local/share)\n"
          ".SH SEE ALSO\nThe project's docs/tool.md and docs/configuration.md.\n";
  return page;
}

}  // namespace glance_store::cli
