#include "credentials/shared_config.hpp"

#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"
#include "util/read_file.hpp"

namespace dsql::aws_config {

std::optional<std::string> section::get(const std::string& key) const {
  const auto it = properties.find(key);
  if (it == properties.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

const section* shared_config::find_profile(const std::string& name) const {
  const auto it = profiles.find(name);
  return it == profiles.end() ? nullptr : &it->second;
}

const section* shared_config::find_sso_session(const std::string& name) const {
  const auto it = sso_sessions.find(name);
  return it == sso_sessions.end() ? nullptr : &it->second;
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A comment starts at '#' or ';' only after whitespace, so values such as "a#b" survive.
std::string_view strip_inline_comment(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if ((s[i] == '#' || s[i] == ';') && is_space(s[i - 1])) return s.substr(0, i);
  }
  return s;
}

std::size_t indent_of(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) ++n;
  return n;
}

// "profile  dev" -> "dev" when `prefix` is "profile"; nullopt when the prefix is absent.
std::optional<std::string_view> after_prefix(std::string_view header, std::string_view prefix) {
  if (header.size() <= prefix.size() || header.substr(0, prefix.size()) != prefix ||
      !is_space(header[prefix.size()])) {
    return std::nullopt;
  }
  return trim(header.substr(prefix.size()));
}

const char* file_label(file_kind kind) {
  return kind == file_kind::config ? "AWS config file" : "AWS credentials file";
}

class parser {
 public:
  parser(file_kind kind, const std::string& source)
      : kind_(kind), source_(util::printable(source)) {}

  parsed_file run(std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t end = text.find('\n', start);
      const std::string_view line =
          text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
      ++line_no_;
      handle(line);
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
    finish();
    return std::move(out_);
  }

 private:
  enum class target { none, ignored, profile, plain_default, sso_session };

  [[noreturn]] void fail(const std::string& what, const std::string& fix) const {
    throw credentials_error(std::string(file_label(kind_)) + " " + source_ + " line " +
                            std::to_string(line_no_) + ": " + what + "; " + fix);
  }

  void warn(const std::string& what) {
    out_.warnings.push_back(source_ + " line " + std::to_string(line_no_) + ": " + what);
  }

  void handle(std::string_view raw) {
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') return;

    const std::size_t indent = indent_of(raw);
    if (indent > 0 && current_key_ && indent > current_indent_) {
      continue_value(line);
      return;
    }
    if (line.front() == '[') {
      header(line);
      return;
    }
    property(line, indent);
  }

  void header(std::string_view line) {
    const std::size_t close = line.find(']');
    if (close == std::string_view::npos) {
      fail("section header without a closing ']'", "write it as [profile NAME]");
    }
    const std::string_view rest = trim(line.substr(close + 1));
    if (!rest.empty() && rest.front() != '#' && rest.front() != ';') {
      fail("unexpected text after the section header", "remove it or start it with '#'");
    }
    const std::string_view name = trim(line.substr(1, close - 1));
    current_key_.reset();

    if (name.empty()) {
      warn("empty section name [] ignored");
      set_target(target::ignored, {});
      return;
    }
    if (kind_ == file_kind::config) {
      if (name == "default") {
        set_target(target::plain_default, "default");
      } else if (auto p = after_prefix(name, "profile")) {
        if (p->empty()) {
          warn("section [profile] without a name ignored");
          set_target(target::ignored, {});
        } else {
          if (*p == "default") saw_profile_default_ = true;
          set_target(target::profile, std::string(*p));
        }
      } else if (auto s = after_prefix(name, "sso-session")) {
        set_target(s->empty() ? target::ignored : target::sso_session, std::string(*s));
      } else if (after_prefix(name, "services")) {
        set_target(target::ignored, {});  // valid, but holds nothing credentials need
      } else {
        const std::string shown = util::printable(name);
        warn("section [" + shown + "] ignored: in the config file write [profile " + shown + "]");
        set_target(target::ignored, {});
      }
    } else {
      if (auto p = after_prefix(name, "profile")) {
        warn("section [" + util::printable(name) + "] ignored: in the credentials file write [" +
             util::printable(*p) + "] without 'profile'");
        set_target(target::ignored, {});
      } else {
        set_target(target::profile, std::string(name));
      }
    }
  }

  void set_target(target t, std::string name) {
    target_ = t;
    current_ = nullptr;
    switch (t) {
      case target::profile:
        current_ = &out_.profiles[name];
        break;
      case target::plain_default:
        plain_default_.name = "default";
        current_ = &plain_default_;
        return;
      case target::sso_session:
        current_ = &out_.sso_sessions[name];
        break;
      case target::none:
      case target::ignored:
        return;
    }
    current_->name = std::move(name);
  }

  void property(std::string_view line, std::size_t indent) {
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      fail("expected 'key = value', '[section]' or a comment",
           "fix the line, or start it with '#' to comment it out");
    }
    const std::string_view key = trim(line.substr(0, eq));
    if (key.empty()) fail("property without a name", "write it as 'key = value'");
    if (target_ == target::none) {
      fail("property outside any section", kind_ == file_kind::config
                                               ? "put it under a [profile NAME] or [default] header"
                                               : "put it under a [NAME] header");
    }
    const std::string_view value = trim(strip_inline_comment(trim(line.substr(eq + 1))));
    current_key_ = std::string(key);
    current_indent_ = indent;
    if (current_ != nullptr) current_->properties[*current_key_] = std::string(value);
  }

  // Continuation lines carry no comments; they extend the previous value.
  void continue_value(std::string_view line) {
    if (current_ == nullptr) return;
    std::string& value = current_->properties[*current_key_];
    if (!value.empty()) value += '\n';
    value += line;
  }

  void finish() {
    if (plain_default_.name.empty()) return;  // no [default] header seen
    if (saw_profile_default_) {
      out_.warnings.push_back(source_ +
                              ": [default] ignored because [profile default] supersedes it");
      return;
    }
    out_.profiles["default"] = std::move(plain_default_);
  }

  file_kind kind_;
  const std::string source_;  // the file's name, escaped for messages
  parsed_file out_;
  std::size_t line_no_ = 0;
  target target_ = target::none;
  section* current_ = nullptr;
  std::optional<std::string> current_key_;
  std::size_t current_indent_ = 0;
  section plain_default_;  // [default] in the config file, kept apart until we know the winner
  bool saw_profile_default_ = false;
};

std::string expand_home(std::string path) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const std::string home = util::home_directory();
    if (!home.empty()) path = home + path.substr(1);
  }
  return path;
}

std::string default_path(const char* env_name, const char* file_name) {
  if (auto p = util::get_env(env_name)) return expand_home(*p);
  const std::string home = util::home_directory();
  // Without a home directory the default cannot exist; keep a readable path for messages.
  if (home.empty()) return std::string("~/.aws/") + file_name;
  return home + "/.aws/" + file_name;
}

// nullopt when the file does not exist.
std::optional<std::string> read_optional_file(const std::string& path, file_kind kind) {
  if (path.rfind("~", 0) == 0) return std::nullopt;  // no home directory to expand it with
  const char* env_name =
      kind == file_kind::config ? "AWS_CONFIG_FILE" : "AWS_SHARED_CREDENTIALS_FILE";
  return util::read_file(path, file_label(kind),
                         std::string("fix the file or its permissions, or point ") + env_name +
                             " at a readable regular file");
}

}  // namespace

parsed_file parse(std::string_view text, file_kind kind, const std::string& source_name) {
  return parser(kind, source_name).run(text);
}

std::string config_file_path() {
  return default_path("AWS_CONFIG_FILE", "config");
}

std::string credentials_file_path() {
  return default_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
}

shared_config load() {
  shared_config result;
  result.config_path = config_file_path();
  result.credentials_path = credentials_file_path();

  if (auto text = read_optional_file(result.config_path, file_kind::config)) {
    result.config_found = true;
    parsed_file f = parse(*text, file_kind::config, result.config_path);
    result.profiles = std::move(f.profiles);
    result.sso_sessions = std::move(f.sso_sessions);
    result.warnings = std::move(f.warnings);
  }
  if (auto text = read_optional_file(result.credentials_path, file_kind::credentials)) {
    result.credentials_found = true;
    parsed_file f = parse(*text, file_kind::credentials, result.credentials_path);
    for (auto& [name, sec] : f.profiles) {
      section& merged = result.profiles[name];
      merged.name = name;
      for (auto& [key, value] : sec.properties) merged.properties[key] = std::move(value);
    }
    result.warnings.insert(result.warnings.end(), f.warnings.begin(), f.warnings.end());
  }
  return result;
}

std::string selected_profile_name(const std::string& explicit_profile) {
  if (!explicit_profile.empty()) return explicit_profile;
  if (auto p = util::get_env("AWS_PROFILE")) return *p;
  return "default";
}

std::optional<std::string> profile_region(const std::string& explicit_profile) {
  try {
    const shared_config files = load();
    if (const section* s = files.find_profile(selected_profile_name(explicit_profile))) {
      return s->get("region");
    }
  } catch (...) {
    // A broken file is reported by the credential chain, which has a caller to tell.
  }
  return std::nullopt;
}

}  // namespace dsql::aws_config
