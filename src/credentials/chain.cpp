#include <atomic>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <vector>

#include "credentials/shared_config.hpp"
#include "credentials/sources.hpp"
#include "dsql/credentials.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"

namespace dsql {

namespace credential_sources {

network_settings network_settings::from_environment() {
  network_settings s;
  if (auto t = util::get_env("AWS_METADATA_SERVICE_TIMEOUT")) {
    char* end = nullptr;
    const double seconds = std::strtod(t->c_str(), &end);
    if (end == t->c_str() || *end != '\0' || !(seconds > 0) || seconds > 3600) {
      throw credentials_error(
          "AWS_METADATA_SERVICE_TIMEOUT must be a number of seconds (e.g. 1 "
          "or 0.5)");
    }
    s.imds_timeout = std::chrono::milliseconds(static_cast<long long>(seconds * 1000 + 0.5));
  }
  if (auto n = util::get_env("AWS_METADATA_SERVICE_NUM_ATTEMPTS")) {
    char* end = nullptr;
    const long attempts = std::strtol(n->c_str(), &end, 10);
    if (end == n->c_str() || *end != '\0' || attempts < 1 || attempts > 10) {
      throw credentials_error(
          "AWS_METADATA_SERVICE_NUM_ATTEMPTS must be a whole number from 1 "
          "to 10");
    }
    s.imds_attempts = static_cast<int>(attempts);
  }
  return s;
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.size() < 8) continue;  // too short to be a real secret; would mangle the text
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
      text.replace(pos, secret.size(), "[redacted]");
    }
  }
  return text;
}

}  // namespace credential_sources

namespace {

using credential_sources::network_settings;

// The chain's steps, in order; each may add a line to `tried` when it has nothing.
enum class step { environment, profile, web_identity, container, imds, count };

class default_chain final : public credentials_provider {
 public:
  default_chain(chain_options options, std::optional<network_settings> net)
      : options_(std::move(options)), net_(std::move(net)) {}

  credentials resolve() override {
    const network_settings net = net_ ? *net_ : network_settings::from_environment();
    const aws_config::shared_config files = aws_config::load();
    // A refresh goes back to the source that worked, so that credentials do not switch
    // identity mid-process because, say, a credentials file appeared (botocore behaves so).
    const int sticky = last_step_.load();
    std::vector<std::string> tried;
    if (sticky >= 0) {
      if (auto c = run(static_cast<step>(sticky), files, net, tried)) return *c;
      tried.clear();
    }
    for (int s = 0; s < static_cast<int>(step::count); ++s) {
      if (auto c = run(static_cast<step>(s), files, net, tried)) {
        last_step_.store(s);
        return *c;
      }
    }
    const std::string profile = aws_config::selected_profile_name(options_.profile);
    std::string msg =
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or configure profile " +
        util::quoted(profile) + " in " + util::printable(files.config_path) + " or " +
        util::printable(files.credentials_path) +
        " (choose another with AWS_PROFILE), or pass credentials explicitly. Tried:";
    for (std::size_t i = 0; i < tried.size(); ++i) msg += (i == 0 ? " " : "; ") + tried[i];
    for (const auto& w : files.warnings) msg += "; note: " + w;
    throw credentials_error(msg);
  }

  std::string name() const override { return "default chain"; }

 private:
  std::optional<credentials> run(step s, const aws_config::shared_config& files,
                                 const network_settings& net, std::vector<std::string>& tried) {
    const std::string profile = aws_config::selected_profile_name(options_.profile);
    const aws_config::section* section = files.find_profile(profile);
    switch (s) {
      case step::environment:
        // An explicit profile skips the environment, as botocore does: the caller asked for
        // that profile, not for whatever the shell happens to export.
        if (!options_.profile.empty()) {
          tried.push_back("environment variables skipped (profile " +
                          util::quoted(options_.profile) + " was given explicitly)");
          return std::nullopt;
        }
        if (auto c = credential_sources::try_environment()) return c;
        tried.push_back("environment variables (AWS_ACCESS_KEY_ID not set)");
        return std::nullopt;
      case step::profile: {
        // The files are re-read on every refresh so that edits and rotated keys take effect.
        const bool explicit_profile =
            !options_.profile.empty() || util::get_env("AWS_PROFILE").has_value();
        if (auto c =
                credential_sources::try_profile(files, profile, explicit_profile,
                                                credential_sources::default_process_timeout, net)) {
          return c;
        }
        tried.push_back(section == nullptr
                            ? "profile " + util::quoted(profile) + " (not found in " +
                                  util::printable(files.config_path) + " or " +
                                  util::printable(files.credentials_path) + ")"
                            : "profile " + util::quoted(profile) + " (has no credential settings)");
        return std::nullopt;
      }
      case step::web_identity: {
        const auto region = section != nullptr ? section->get("region") : std::nullopt;
        if (auto c = credential_sources::try_web_identity(net, region)) return c;
        tried.push_back("web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set)");
        return std::nullopt;
      }
      case step::container:
        if (auto c = credential_sources::try_container(net)) return c;
        tried.push_back(
            "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not "
            "set)");
        return std::nullopt;
      case step::imds: {
        std::string note;
        if (auto c = credential_sources::try_imds(net, section, note)) return c;
        tried.push_back(note);
        return std::nullopt;
      }
      case step::count:
        break;
    }
    return std::nullopt;
  }

  chain_options options_;
  std::optional<network_settings> net_;
  std::atomic<int> last_step_{-1};
};

}  // namespace

namespace credential_sources {

std::shared_ptr<credentials_provider> make_default_chain(chain_options options,
                                                         std::optional<network_settings> net) {
  return std::make_shared<default_chain>(std::move(options), std::move(net));
}

}  // namespace credential_sources

std::shared_ptr<credentials_provider> default_credentials_chain(const chain_options& options) {
  return make_caching_provider(credential_sources::make_default_chain(options),
                               options.refresh_before_expiry);
}

}  // namespace dsql
