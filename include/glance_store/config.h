// Reading glance-api.conf the way oslo.config does.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glance_store {

/// An INI file as oslo.config reads it: `[section]` headers, `key = value` or `key: value`,
/// `#`/`;` comment lines, indented continuation lines, one pair of surrounding quotes removed,
/// and every occurrence of a repeated key kept (multi-valued options read them all; single
/// options take the last). As in oslo.config, section names other than DEFAULT are matched
/// case-insensitively (kept lower-cased); option names are case-sensitive.
class ConfigFile {
 public:
  ConfigFile() = default;

  /// Parses text. Throws Error(kBadStoreConfiguration) naming `origin` and the line on a
  /// syntax error. Without `strip_quotes`, values keep their quotes (for files whose readers
  /// unquote them their own way).
  static ConfigFile parse(std::string_view text, std::string_view origin = "<config>",
                          bool strip_quotes = true);
  /// Reads and parses a file. Throws Error(kBadStoreConfiguration) when it cannot be read.
  static ConfigFile load(const std::string& path);

  bool has_section(std::string_view section) const;
  /// Every value given for key in section, in file order (empty when never given).
  const std::vector<std::string>& values(std::string_view section, std::string_view key) const;
  /// Whether the key appears in the section at all (even with an empty value).
  bool has(std::string_view section, std::string_view key) const;
  /// Sets (replaces) a value; used for built-in defaults and by tests.
  void set(std::string section, std::string key, std::vector<std::string> values);
  std::vector<std::string> sections() const;
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::map<std::string, std::map<std::string, std::vector<std::string>, std::less<>>, std::less<>>
      data_;
};

/// Typed lookups of one store's options along a chain of sections, first hit wins: legacy mode
/// reads `[glance_store]`; multi-store mode reads `[<backend id>]` then `[backend_defaults]`.
/// A value that does not parse, or is out of bounds, throws Error(kBadStoreConfiguration) whose
/// message names the section, the option and the reason.
class OptionReader {
 public:
  /// Shares `file`: stores keep reading it when they are configured again.
  OptionReader(std::shared_ptr<const ConfigFile> file, std::vector<std::string> sections,
               std::string store_name);
  /// Keeps a copy of `file`.
  OptionReader(const ConfigFile& file, std::vector<std::string> sections, std::string store_name)
      : OptionReader(std::make_shared<const ConfigFile>(file), std::move(sections),
                     std::move(store_name)) {}

  /// The raw value, or nullopt when no section sets it.
  std::optional<std::string> raw(std::string_view name) const;
  /// A string; an empty value counts as unset, as for oslo.config's falsy checks.
  std::optional<std::string> get_string(std::string_view name,
                                        std::optional<std::string> fallback = std::nullopt) const;
  bool get_bool(std::string_view name, bool fallback) const;
  std::int64_t get_int(std::string_view name, std::int64_t fallback,
                       std::optional<std::int64_t> min = std::nullopt,
                       std::optional<std::int64_t> max = std::nullopt) const;
  /// A path (as get_string). A value no system call could take (a NUL byte, a component over
  /// 255 bytes, 4096 bytes or more in all) throws Error(kBadStoreConfiguration).
  std::optional<std::string> get_path(std::string_view name,
                                      std::optional<std::string> fallback = std::nullopt) const;
  /// Throws, naming `name`, when `path` (the option's value or a part of it) is such a path.
  void check_path(std::string_view name, std::string_view path) const;
  /// One of `allowed`, or `fallback` when the option is not set. As oslo.config's choices, the
  /// match is exact and an empty value is not a choice.
  std::string get_choice(std::string_view name, std::string fallback,
                         std::initializer_list<std::string_view> allowed) const;
  /// Every value of a multi-valued option, from the first section that sets it.
  std::vector<std::string> get_multi(std::string_view name) const;
  /// A comma-separated list, items trimmed, empty items dropped.
  std::vector<std::string> get_list(std::string_view name,
                                    std::vector<std::string> fallback = {}) const;

  const std::vector<std::string>& sections() const { return sections_; }
  /// The same reader without the fallback sections.
  OptionReader first_section_only() const {
    return {file_, {sections_.empty() ? std::string() : sections_.front()}, store_name_};
  }
  const std::string& store_name() const { return store_name_; }

  /// Error(kBadStoreConfiguration) for `name`, saying why.
  [[noreturn]] void fail(std::string_view name, std::string_view why) const;

 private:
  /// The section that sets name, or nullptr.
  const std::string* source_of(std::string_view name) const;

  std::shared_ptr<const ConfigFile> file_;
  std::vector<std::string> sections_;
  std::string store_name_;
};

/// Parsing helpers with oslo.config's rules: booleans are true/1/on/yes and false/0/off/no,
/// in any case; integers are Python's int() of decimal digits (a sign, `_` between digits).
std::optional<bool> parse_oslo_bool(std::string_view text);
std::optional<std::int64_t> parse_oslo_int(std::string_view text);
std::vector<std::string> split_oslo_list(std::string_view text);

}  // namespace glance_store
