#pragma once

// DSQL IAM auth tokens: a SigV4 query presign of GET https://<host>/?Action=DbConnect[Admin].

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "dsql/credentials.hpp"

namespace dsql {

enum class token_action { db_connect, db_connect_admin };

// User "admin" needs DbConnectAdmin; every other role DbConnect.
token_action action_for_user(std::string_view user) noexcept;
std::string_view to_string(token_action action) noexcept;

// How long a token is valid when nothing says otherwise: 15 minutes, as in AWS's tools.
inline constexpr std::chrono::seconds default_token_expiry{900};
// The longest validity SigV4 presigning allows: 7 days.
inline constexpr std::chrono::seconds max_token_expiry{604800};

using clock_function = std::function<std::chrono::system_clock::time_point()>;

struct token_request {
  std::string hostname;  // the endpoint the token is signed for (no scheme, no port)
  std::string region;
  token_action action = token_action::db_connect_admin;
  std::chrono::seconds expires_in = default_token_expiry;  // 1 s to max_token_expiry
};

// Signs with the given credentials at the given time. Throws config_error on bad input.
std::string generate_token(const token_request& request, const credentials& creds,
                           std::chrono::system_clock::time_point signing_time);

// Signs tokens with credentials from a provider. Reuses the derived signing key while
// (secret, date, region) is unchanged. Thread-safe.
class token_generator {
 public:
  explicit token_generator(std::shared_ptr<credentials_provider> provider,
                           clock_function clock = {});
  ~token_generator();
  token_generator(const token_generator&) = delete;
  token_generator& operator=(const token_generator&) = delete;

  // Throws credentials_error when the credentials expire before the token would.
  std::string generate(const token_request& request);

  const std::shared_ptr<credentials_provider>& provider() const noexcept { return provider_; }

 private:
  struct key_cache;
  std::shared_ptr<credentials_provider> provider_;
  clock_function clock_;
  std::unique_ptr<key_cache> cache_;
};

}  // namespace dsql
