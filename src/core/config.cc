#include "glance_store/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "glance_store/error.h"

namespace glance_store {
namespace {

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

[[noreturn]] void syntax_error(std::string_view origin, int line, std::string_view why) {
  throw Error(ErrorKind::kBadStoreConfiguration,
              std::string(origin) + ":" + std::to_string(line) + ": " + std::string(why));
}

const std::vector<std::string>& no_values() {
  static const std::vector<std::string> kEmpty;
  return kEmpty;
}

}  // namespace

ConfigFile ConfigFile::parse(std::string_view text, std::string_view origin, bool strip_quotes) {
  ConfigFile file;
  file.origin_ = std::string(origin);
  std::string section;
  std::string key;
  std::vector<std::string> pieces;  // value lines of the pending assignment
  int line_no = 0;
  int key_line = 0;

  auto flush = [&] {
    if (key.empty()) return;
    if (section.empty()) syntax_error(origin, key_line, "option '" + key + "' before any section");
    std::string value;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (i != 0) value += '\n';
      value += pieces[i];
    }
    file.data_[section][key].push_back(std::move(value));
    key.clear();
    pieces.clear();
  };

  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      flush();
      if (end == text.size()) break;
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (key.empty()) syntax_error(origin, line_no, "continuation line without an option");
      pieces.emplace_back(trim(line));
      continue;
    }
    flush();
    if (line.front() == '[') {
      if (line.back() != ']') syntax_error(origin, line_no, "section header without ']'");
      if (line.size() <= 2) syntax_error(origin, line_no, "empty section name");
      // oslo.config matches group names case-insensitively; only DEFAULT is kept as written.
      section = std::string(line.substr(1, line.size() - 2));
      if (section != "DEFAULT") section = lower(section);
      file.data_[section];
    } else if (line.front() == '#' || line.front() == ';') {
      // comment
    } else {
      const std::size_t colon = line.find(':');
      const std::size_t equal = line.find('=');
      if (colon == std::string_view::npos && equal == std::string_view::npos) {
        syntax_error(origin, line_no, "expected 'option = value'");
      }
      const std::size_t split =
          (colon == std::string_view::npos || (equal != std::string_view::npos && equal < colon))
              ? equal
              : colon;
      std::string_view value = trim(line.substr(split + 1));
      // As oslo.config: a lone quote is a pair too, of an empty value.
      if (strip_quotes && !value.empty() && value.front() == value.back() &&
          (value.front() == '"' || value.front() == '\'')) {
        value = value.size() == 1 ? std::string_view() : value.substr(1, value.size() - 2);
      }
      key = std::string(trim(line.substr(0, split)));
      if (key.empty()) syntax_error(origin, line_no, "empty option name");
      key_line = line_no;
      pieces.assign(1, std::string(value));
    }
    if (end == text.size()) break;
  }
  flush();
  return file;
}

ConfigFile ConfigFile::load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(ErrorKind::kBadStoreConfiguration,
                "configuration file " + path + " is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::kBadStoreConfiguration, "cannot read configuration file " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

namespace {
std::string group_key(std::string_view section) {
  return section == "DEFAULT" ? std::string(section) : lower(section);
}
}  // namespace

bool ConfigFile::has_section(std::string_view section) const {
  return data_.find(group_key(section)) != data_.end();
}

const std::vector<std::string>& ConfigFile::values(std::string_view section,
                                                   std::string_view key) const {
  auto s = data_.find(group_key(section));
  if (s == data_.end()) return no_values();
  auto k = s->second.find(key);
  return k == s->second.end() ? no_values() : k->second;
}

bool ConfigFile::has(std::string_view section, std::string_view key) const {
  auto s = data_.find(group_key(section));
  return s != data_.end() && s->second.find(key) != s->second.end();
}

void ConfigFile::set(std::string section, std::string key, std::vector<std::string> values) {
  data_[group_key(section)][std::move(key)] = std::move(values);
}

std::vector<std::string> ConfigFile::sections() const {
  std::vector<std::string> out;
  for (const auto& [name, unused] : data_) out.push_back(name);
  return out;
}

std::optional<bool> parse_oslo_bool(std::string_view text) {
  const std::string v = lower(trim(text));
  if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "off" || v == "no") return false;
  return std::nullopt;
}

namespace {

// The digits of a Python int() literal in base 10 (an optional sign, then digits that single
// underscores may separate), without the underscores; nullopt for anything else.
std::optional<std::string> python_int_digits(std::string_view text) {
  std::string_view v = trim(text);
  std::string out;
  if (!v.empty() && (v.front() == '+' || v.front() == '-')) {
    if (v.front() == '-') out += '-';
    v.remove_prefix(1);
  }
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (digit(v[i])) {
      out += v[i];
    } else if (v[i] != '_' || i == 0 || i + 1 == v.size() || !digit(v[i - 1]) || !digit(v[i + 1])) {
      return std::nullopt;
    }
  }
  if (v.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::int64_t> parse_oslo_int(std::string_view text) {
  const auto digits = python_int_digits(text);
  if (!digits) return std::nullopt;
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(digits->data(), digits->data() + digits->size(), out);
  if (ec != std::errc() || ptr != digits->data() + digits->size()) return std::nullopt;
  return out;
}

std::vector<std::string> split_oslo_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = trim(text.substr(pos, comma - pos));
    if (!item.empty()) out.emplace_back(item);
    pos = comma + 1;
  }
  return out;
}

OptionReader::OptionReader(std::shared_ptr<const ConfigFile> file,
                           std::vector<std::string> sections, std::string store_name)
    : file_(std::move(file)), sections_(std::move(sections)), store_name_(std::move(store_name)) {}

const std::string* OptionReader::source_of(std::string_view name) const {
  for (const auto& section : sections_) {
    if (file_->has(section, name)) return &section;
  }
  return nullptr;
}

std::optional<std::string> OptionReader::raw(std::string_view name) const {
  const std::string* section = source_of(name);
  if (section == nullptr) return std::nullopt;
  return file_->values(*section, name).back();
}

void OptionReader::fail(std::string_view name, std::string_view why) const {
  const std::string* section = source_of(name);
  std::string where = section != nullptr ? "[" + *section + "] " : std::string();
  const Error e = bad_store_configuration_error(
      store_name_, "option " + where + std::string(name) + ": " + std::string(why));
  throw InvalidOptionValue(e.kind(), e.message());
}

std::optional<std::string> OptionReader::get_string(std::string_view name,
                                                    std::optional<std::string> fallback) const {
  if (const std::string* section = source_of(name)) {
    const std::string& value = file_->values(*section, name).back();
    if (value.empty()) return std::nullopt;
    return value;
  }
  return fallback;
}

bool OptionReader::get_bool(std::string_view name, bool fallback) const {
  auto value = raw(name);
  if (!value) return fallback;
  auto parsed = parse_oslo_bool(*value);
  if (!parsed) fail(name, "'" + *value + "' is not a boolean (use true or false)");
  return *parsed;
}

std::int64_t OptionReader::get_int(std::string_view name, std::int64_t fallback,
                                   std::optional<std::int64_t> min,
                                   std::optional<std::int64_t> max) const {
  auto value = raw(name);
  if (!value || trim(*value).empty()) return fallback;
  auto parsed = parse_oslo_int(*value);
  if (!parsed && python_int_digits(*value)) {
    fail(name, "value " + *value + " is out of the range of a 64-bit integer");
  }
  if (!parsed) fail(name, "'" + *value + "' is not an integer");
  if (min && *parsed < *min) {
    fail(name,
         "value " + std::to_string(*parsed) + " is below the minimum " + std::to_string(*min));
  }
  if (max && *parsed > *max) {
    fail(name,
         "value " + std::to_string(*parsed) + " is above the maximum " + std::to_string(*max));
  }
  return *parsed;
}

std::optional<std::string> OptionReader::get_path(std::string_view name,
                                                  std::optional<std::string> fallback) const {
  auto value = get_string(name, std::move(fallback));
  if (value) check_path(name, *value);
  return value;
}

// A path no system call could take (a component over NAME_MAX, the whole over PATH_MAX) is a
// malformed value, not a failure of the environment.
void OptionReader::check_path(std::string_view name, std::string_view path) const {
  if (path.find('\0') != std::string_view::npos) fail(name, "the path contains a NUL byte");
  if (path.size() >= 4096) fail(name, "the path is longer than 4095 bytes");
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end - start > 255) {
      fail(name, "a component of the path is longer than 255 bytes: '" +
                     std::string(path.substr(start, 40)) + "…'");
    }
    start = end + 1;
  }
}

std::string OptionReader::get_choice(std::string_view name, std::string fallback,
                                     std::initializer_list<std::string_view> allowed) const {
  const auto value = raw(name);
  if (!value) return fallback;
  for (const auto a : allowed) {
    if (a == *value) return *value;
  }
  std::string list;
  for (const auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  fail(name, "'" + *value + "' is not one of " + list);
}

std::vector<std::string> OptionReader::get_multi(std::string_view name) const {
  const std::string* section = source_of(name);
  if (section == nullptr) return {};
  std::vector<std::string> out;
  for (const auto& v : file_->values(*section, name)) {
    if (!v.empty()) out.push_back(v);
  }
  return out;
}

std::vector<std::string> OptionReader::get_list(std::string_view name,
                                                std::vector<std::string> fallback) const {
  auto value = raw(name);
  if (!value) return fallback;
  return split_oslo_list(*value);
}

}  // namespace glance_store
