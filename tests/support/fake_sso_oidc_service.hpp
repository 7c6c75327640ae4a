#pragma once

// IAM Identity Center's SSO-OIDC CreateToken for grant_type refresh_token, on a
// fake_aws_server, as the service model (botocore/data/sso-oidc/2019-06-10/service-2.json) and
// botocore's SSOTokenProvider describe it: POST /token, unsigned, JSON {grantType, clientId,
// clientSecret, refreshToken}; the answer {accessToken, tokenType "Bearer", expiresIn,
// refreshToken}, or an OAuth error document {error, error_description}: invalid_client (401) for
// a wrong client registration, invalid_grant (400) for a refresh token it does not know.

#include <mutex>
#include <string>
#include <vector>

#include "support/fake_aws_server.hpp"

namespace dsql::test {

class fake_sso_oidc_service {
 public:
  struct settings {
    std::string client_id = "_yzkThXVzLWVhc3QtMQEXAMPLECLIENTID";
    std::string client_secret;
    std::string refresh_token;  // the one the cache holds now
    // What a successful refresh hands out.
    std::string access_token;
    std::string next_refresh_token;  // empty: the answer carries none
    long expires_in = 28800;
  };

  fake_sso_oidc_service(fake_aws_server& server, settings s);

  // Refreshes granted.
  int refreshes() const;
  // Why requests were refused as malformed; empty when none were.
  std::vector<std::string> problems() const;

 private:
  scripted_response answer(const recorded_request& req);

  mutable std::mutex mutex_;
  settings s_;
  std::vector<std::string> problems_;
  int refreshes_ = 0;
};

}  // namespace dsql::test
