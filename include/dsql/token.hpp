#pragma once

/// @file
/// DSQL IAM auth tokens: a SigV4 query presign of GET https://\<host\>/?Action=DbConnect[Admin].

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "dsql/credentials.hpp"

namespace dsql {

/// The IAM action a token is signed for.
enum class token_action {
  db_connect,        ///< dsql:DbConnect, for every role but admin
  db_connect_admin,  ///< dsql:DbConnectAdmin, for the admin role
};

/// User "admin" needs DbConnectAdmin; every other role DbConnect.
token_action action_for_user(std::string_view user) noexcept;
/// "DbConnect" or "DbConnectAdmin".
std::string_view to_string(token_action action) noexcept;

/// How long a token is valid when nothing says otherwise: 15 minutes, as in AWS's tools.
inline constexpr std::chrono::seconds default_token_expiry{900};
/// The longest validity SigV4 presigning allows: 7 days.
inline constexpr std::chrono::seconds max_token_expiry{604800};

/// What tells the signers the time (tests pass a fake clock; empty: the system clock).
using clock_function = std::function<std::chrono::system_clock::time_point()>;

/// What to sign a token for. A plain value: copy it freely.
struct token_request {
  std::string hostname;                                    ///< the endpoint signed for (no port)
  std::string region;                                      ///< the region signed for
  token_action action = token_action::db_connect_admin;    ///< the IAM action signed for
  std::chrono::seconds expires_in = default_token_expiry;  ///< 1 s to max_token_expiry
};

/// Signs with the given credentials at the given time. Throws config_error on bad input.
std::string generate_token(const token_request& request, const credentials& creds,
                           std::chrono::system_clock::time_point signing_time);

/// Signs tokens with credentials from a provider. Reuses the derived signing key while
/// (secret, date, region) is unchanged. Thread-safe.
class token_generator {
 public:
  /// Signs with `provider`'s credentials at `clock`'s time (empty: the system clock).
  explicit token_generator(std::shared_ptr<credentials_provider> provider,
                           clock_function clock = {});
  /// Wipes the cached signing key.
  ~token_generator();
  token_generator(const token_generator&) = delete;
  token_generator& operator=(const token_generator&) = delete;

  /// A token for `request`. Throws credentials_error when the credentials expire before the
  /// token would, config_error for a request that cannot be signed.
  std::string generate(const token_request& request);

  /// The provider whose credentials sign.
  const std::shared_ptr<credentials_provider>& provider() const noexcept { return provider_; }

 private:
  struct key_cache;
  std::shared_ptr<credentials_provider> provider_;
  clock_function clock_;
  std::unique_ptr<key_cache> cache_;
};

}  // namespace dsql
