#include "credentials/sources.hpp"
#include "dsql/errors.hpp"
#include "util/printable.hpp"

namespace dsql::credential_sources {

namespace {

std::string where(const aws_config::shared_config& files) {
  auto one = [](const std::string& path, bool found) {
    return util::printable(path) + (found ? "" : " (not found)");
  };
  return one(files.config_path, files.config_found) + " and " +
         one(files.credentials_path, files.credentials_found);
}

[[noreturn]] void unknown_profile(const aws_config::shared_config& files, const std::string& name) {
  const std::string shown = util::printable(name);
  std::string msg = profile_label(name) + " not found; looked in " + where(files) +
                    ". Add [profile " + shown + "] to " + util::printable(files.config_path) +
                    " or [" + shown + "] to " + util::printable(files.credentials_path) +
                    ", or select an existing profile (AWS_PROFILE or the profile option)";
  if (!files.profiles.empty()) {
    msg += "; profiles found:";
    for (const auto& [n, s] : files.profiles) msg += " " + util::printable(n);
  }
  // An ignored section is the usual reason a profile "isn't there" ([dev] in the config file).
  for (const auto& w : files.warnings) msg += "; note: " + w;
  throw credentials_error(msg);
}

}  // namespace

std::string profile_label(const std::string& name) {
  return "AWS profile " + util::quoted(name);
}

std::optional<credentials> try_profile_without_role(const aws_config::shared_config& files,
                                                    const std::string& profile_name,
                                                    std::chrono::milliseconds process_timeout,
                                                    const network_settings& net) {
  const aws_config::section* profile = files.find_profile(profile_name);
  if (profile == nullptr) return std::nullopt;

  const auto id = profile->get("aws_access_key_id");
  const auto secret = profile->get("aws_secret_access_key");
  if (id && secret) {
    credentials c;
    c.access_key_id = *id;
    c.secret_access_key = *secret;
    c.session_token = profile->get("aws_session_token").value_or("");
    c.source = "profile:" + profile_name;
    return c;
  }
  if (id || secret) {
    const char* missing = id ? "aws_secret_access_key" : "aws_access_key_id";
    throw credentials_error(profile_label(profile_name) + " has " +
                            (id ? "aws_access_key_id" : "aws_secret_access_key") + " but no " +
                            missing + " (looked in " + where(files) + "); add " + missing +
                            " to the profile or remove the other key");
  }

  if (profile->get("login_session")) return login_profile(files, profile_name, net);

  if (auto command = profile->get("credential_process")) {
    return run_credential_process(*command, profile_name, process_timeout);
  }

  if (profile->get("sso_session") || profile->get("sso_account_id") ||
      profile->get("sso_start_url") || profile->get("sso_role_name")) {
    return sso_profile(files, profile_name, net);
  }

  if (profile->get("web_identity_token_file")) {
    throw credentials_error(profile_label(profile_name) +
                            " has web_identity_token_file but no role_arn; add the role_arn "
                            "of the role to assume with the token");
  }

  // A profile with only settings such as `region` leaves credentials to the rest of the chain.
  return std::nullopt;
}

std::optional<credentials> try_profile(const aws_config::shared_config& files,
                                       const std::string& profile_name, bool explicit_profile,
                                       std::chrono::milliseconds process_timeout,
                                       const network_settings& net) {
  const aws_config::section* profile = files.find_profile(profile_name);
  if (profile == nullptr) {
    if (explicit_profile) unknown_profile(files, profile_name);
    return std::nullopt;
  }
  // role_arn before static keys: a role profile that also holds keys must assume the role, not
  // silently sign as the base identity.
  if (profile->get("role_arn")) {
    return assume_role_profile(files, profile_name, net, process_timeout);
  }
  return try_profile_without_role(files, profile_name, process_timeout, net);
}

}  // namespace dsql::credential_sources
