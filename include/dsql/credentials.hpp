#pragma once

/// @file
/// AWS credentials and the providers that resolve them.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace dsql {

/// One set of AWS credentials. A plain value: copy it freely, share it read-only between threads.
struct credentials {
  std::string access_key_id;      ///< The access key ID, e.g. "AKIA...".
  std::string secret_access_key;  ///< The secret access key. Never logged.
  std::string session_token;      ///< empty for long-term keys
  /// When the credentials stop working; empty means they do not expire.
  std::optional<std::chrono::system_clock::time_point> expiration;
  /// Which source supplied them ("environment", "profile:dev", "process", ...). Never a secret.
  std::string source;
};

/// Resolves credentials. Implementations must be safe to call from several threads.
class credentials_provider {
 public:
  virtual ~credentials_provider() = default;
  /// Throws dsql::credentials_error when no credentials can be had.
  virtual credentials resolve() = 0;
  /// A short name for messages and debugging, e.g. "environment".
  virtual std::string name() const = 0;
};

/// Always returns the credentials it was given. Thread-safe.
class static_credentials_provider final : public credentials_provider {
 public:
  /// Keeps `c`; an empty source becomes "static".
  explicit static_credentials_provider(credentials c);
  /// A copy of the credentials it was given.
  credentials resolve() override;
  /// "static".
  std::string name() const override { return "static"; }

 private:
  credentials credentials_;
};

/// A provider backed by a function, for users with their own credential logic. Thread-safe if
/// the function is: resolve() calls it on the caller's thread, with no lock held.
class function_credentials_provider final : public credentials_provider {
 public:
  /// Throws config_error when `fn` is empty.
  function_credentials_provider(std::string name, std::function<credentials()> fn);
  /// Calls the function; an empty source in what it returns becomes the provider's name.
  credentials resolve() override;
  /// The name it was given.
  std::string name() const override { return name_; }

 private:
  std::string name_;
  std::function<credentials()> fn_;
};

/// Options of default_credentials_chain(). A plain value.
struct chain_options {
  /// An explicit profile skips the environment variables (as botocore does); empty means
  /// AWS_PROFILE, else "default".
  std::string profile;
  /// Refresh cached credentials when less than this remains before they expire.
  std::chrono::seconds refresh_before_expiry{std::chrono::minutes(5)};
};

/// The default chain, wrapped in a cache. Order (see docs/credentials.md):
/// environment -> shared config/credentials files (assume-role, static keys, `aws login`
/// sessions, credential_process, SSO; login sessions and SSO tokens are refreshed as the AWS SDKs
/// refresh them) -> web identity -> container -> EC2 instance metadata. The first source that has
/// credentials wins; a source that is configured but fails stops the chain with its error.
std::shared_ptr<credentials_provider> default_credentials_chain(const chain_options& options = {});

/// Wraps any provider: caches its credentials until shortly before they expire, refreshes one
/// caller at a time while others keep using still-valid credentials, and keeps the old ones if a
/// refresh fails while they are still valid.
std::shared_ptr<credentials_provider> make_caching_provider(
    std::shared_ptr<credentials_provider> inner,
    std::chrono::seconds refresh_before_expiry = std::chrono::minutes(5),
    std::function<std::chrono::system_clock::time_point()> clock = {});

}  // namespace dsql
