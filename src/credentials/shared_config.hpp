#pragma once

// The AWS shared `config` and `credentials` files: INI with profiles, merged as the AWS SDKs do
// (credentials file wins over config file for the same profile; `[profile default]` supersedes
// `[default]` in the config file; `[profile x]` in the credentials file is ignored).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsql::aws_config {

struct section {
  std::string name;
  // Keys as written, values trimmed. Continuation lines are appended to the value after a '\n'
  // (sub-properties such as `s3 =` keep their raw "sub = value" lines that way).
  std::map<std::string, std::string> properties;

  // An empty value counts as unset, as an empty environment variable does.
  std::optional<std::string> get(const std::string& key) const;
};

enum class file_kind { config, credentials };

struct parsed_file {
  std::map<std::string, section> profiles;      // by profile name
  std::map<std::string, section> sso_sessions;  // [sso-session NAME], config file only
  std::vector<std::string> warnings;            // ignored sections and lines, escaped for messages
};

// Parses one file's text. Throws dsql::credentials_error naming `source_name` and the line for
// malformed content (a property outside any section, a line that is neither section nor
// property, an unterminated section header). Messages never quote the offending line: it may
// hold a secret.
parsed_file parse(std::string_view text, file_kind kind, const std::string& source_name);

struct shared_config {
  std::map<std::string, section> profiles;
  std::map<std::string, section> sso_sessions;
  std::string config_path;  // the paths that were used, for messages
  std::string credentials_path;
  bool config_found = false;  // whether the file existed
  bool credentials_found = false;
  std::vector<std::string> warnings;  // from both files; worth showing when a profile is missing

  const section* find_profile(const std::string& name) const;
  const section* find_sso_session(const std::string& name) const;
};

// The paths load() reads: AWS_CONFIG_FILE (default ~/.aws/config) and
// AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials); a leading "~/" is expanded.
std::string config_file_path();
std::string credentials_file_path();

// Reads both files. A missing file is not an error; an unreadable or malformed one is.
shared_config load();

// An explicit name, else AWS_PROFILE, else "default".
std::string selected_profile_name(const std::string& explicit_profile);

// The `region` of the selected profile, if any. Never throws: a broken file means no region.
std::optional<std::string> profile_region(const std::string& explicit_profile);

}  // namespace dsql::aws_config
