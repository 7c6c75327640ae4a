#include "local/startup_rules.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "local/extension/settings_list.h"

namespace dsql::local {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

wire::error_info refusal(const std::string& name) {
  return {"0A000", "setting configuration parameter \"" + name + "\" not supported", {}};
}

// The words of an `options` startup parameter; a backslash escapes the next character.
std::vector<std::string> option_words(std::string_view options) {
  std::vector<std::string> words;
  std::string word;
  for (std::size_t i = 0; i < options.size(); ++i) {
    const char c = options[i];
    if (c == '\\' && i + 1 < options.size()) {
      word.push_back(options[++i]);
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// Checks "-c name=value" / "--name=value" switches in the options startup parameter. Returns the
// name of the first parameter that is not allowed ("options" for anything that is not a setting).
std::optional<std::string> refused_option(std::string_view options) {
  const std::vector<std::string> words = option_words(options);
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string setting;
    if (words[i] == "-c" && i + 1 < words.size()) {
      setting = words[++i];
    } else if (words[i].rfind("-c", 0) == 0 && words[i].size() > 2) {
      setting = words[i].substr(2);
    } else if (words[i].rfind("--", 0) == 0) {
      setting = words[i].substr(2);
    } else {
      return std::string("options");
    }
    const std::size_t eq = setting.find('=');
    if (eq == std::string::npos) return std::string("options");
    std::string name = setting.substr(0, eq);
    std::replace(name.begin(), name.end(), '-', '_');
    if (!settable_parameter(name)) return name;
  }
  return std::nullopt;
}

}  // namespace

bool settable_parameter(std::string_view name) {
  const std::string n = lower(name);
  for (const char* const* p = dsql_settable_parameters; *p; ++p) {
    if (n == *p) return true;
  }
  return false;
}

std::variant<backend_login, wire::error_info> check_startup(const wire::startup_packet& startup,
                                                            const std::string& session_options) {
  const std::string* user = startup.param("user");
  if (!user || user->empty()) {
    return wire::error_info{"28000", "no PostgreSQL user name specified in startup packet", {}};
  }
  // The front's own superuser: nobody logs in as it through the front.
  if (*user == "postgres") {
    return wire::error_info{"28000", "unable to accept connection, access denied", {}};
  }
  const std::string* database = startup.param("database");
  const std::string db = database && !database->empty() ? *database : *user;
  if (db != "postgres")
    return wire::error_info{"3D000", "database \"" + db + "\" does not exist", {}};

  backend_login login;
  login.user = *user;
  login.params = {{"user", *user}, {"database", "postgres"}};
  std::string options = session_options;
  bool timezone_given = false;
  for (const auto& [name, value] : startup.params) {
    if (name == "user" || name == "database" || name.rfind("_pq_.", 0) == 0) continue;
    if (name == "options") {
      if (auto bad = refused_option(value)) return refusal(*bad);
      options += " " + value;
      continue;
    }
    if (!settable_parameter(name)) return refusal(name);
    timezone_given = timezone_given || lower(name) == "timezone";
    login.params.emplace_back(name, value);
  }
  if (!timezone_given) login.params.emplace_back("TimeZone", "UTC");
  login.params.emplace_back("options", options);
  return login;
}

}  // namespace dsql::local
