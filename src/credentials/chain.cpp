#include <functional>
#include <vector>

#include "credentials/shared_config.hpp"
#include "credentials/sources.hpp"
#include "dsql/credentials.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"

namespace dsql {

namespace {

// What one resolve() saw, for the "nothing found" message.
struct attempt_log {
  std::vector<std::string> tried;
};

class default_chain final : public credentials_provider {
 public:
  explicit default_chain(chain_options options) : options_(std::move(options)) {}

  credentials resolve() override {
    attempt_log log;
    const bool explicit_profile =
        !options_.profile.empty() || util::get_env("AWS_PROFILE").has_value();

    // 1. Environment variables. An explicit profile skips them, as botocore does: the caller
    //    asked for that profile, not for whatever the shell happens to export.
    if (options_.profile.empty()) {
      if (auto c = credential_sources::try_environment()) return *c;
      log.tried.push_back("environment variables (AWS_ACCESS_KEY_ID not set)");
    } else {
      log.tried.push_back("environment variables skipped (profile '" + options_.profile +
                          "' was given explicitly)");
    }

    // 2. Shared config/credentials files, re-read on every refresh so that edits (and rotated
    //    keys) take effect without a restart.
    const aws_config::shared_config files = aws_config::load();
    const std::string profile = aws_config::selected_profile_name(options_.profile);
    if (auto c = credential_sources::try_profile(files, profile, explicit_profile)) return *c;
    if (files.find_profile(profile) == nullptr) {
      log.tried.push_back("profile '" + profile + "' (not found in " + files.config_path + " or " +
                          files.credentials_path + ")");
    } else {
      log.tried.push_back("profile '" + profile + "' (has no credential settings)");
    }

    // 3.-5. Sources that need the network; the cloud sources issue adds them here, in order:
    //   try_web_identity(files, profile)  AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN -> STS
    //   try_container()                   AWS_CONTAINER_CREDENTIALS_{RELATIVE,FULL}_URI
    //   try_imds()                        EC2 instance metadata unless AWS_EC2_METADATA_DISABLED
    // Until then they are reported as not supported rather than silently faked.
    log.tried.push_back(
        "web identity, container and EC2 instance metadata credentials (not supported yet)");

    std::string msg =
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or configure profile '" +
        profile + "' in " + files.config_path + " or " + files.credentials_path +
        " (choose another with AWS_PROFILE), or pass credentials explicitly. Tried:";
    for (std::size_t i = 0; i < log.tried.size(); ++i) {
      msg += (i == 0 ? " " : "; ") + log.tried[i];
    }
    for (const auto& w : files.warnings) msg += "; note: " + w;
    throw credentials_error(msg);
  }

  std::string name() const override { return "default chain"; }

 private:
  chain_options options_;
};

}  // namespace

std::shared_ptr<credentials_provider> default_credentials_chain(const chain_options& options) {
  return make_caching_provider(std::make_shared<default_chain>(options),
                               options.refresh_before_expiry);
}

}  // namespace dsql
