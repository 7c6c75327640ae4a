#pragma once

// AWS Sign-In's CreateOAuth2Token for grant_type=refresh_token, on a fake_aws_server, as the
// service model (botocore/data/signin/2023-01-01/service-2.json) and the SDKs that call it
// (botocore LoginCredentialFetcher, aws-sdk-js-v3 LoginCredentialsFetcher, aws-sdk-go-v2
// logincreds) describe it: POST /v1/token, unsigned, a JSON body {clientId, refreshToken,
// grantType}, a DPoP proof (RFC 9449: ES256 JWT with the session key's JWK, htm, htu, iat, jti)
// in the DPoP header; the answer {accessToken {accessKeyId, secretAccessKey, sessionToken},
// tokenType "aws_sigv4", expiresIn, refreshToken}, or an AccessDeniedException with `error`
// TOKEN_EXPIRED (401), USER_CREDENTIALS_CHANGED or INSUFFICIENT_PERMISSIONS (403), and a
// ValidationException (400) for a malformed request. The refresh token rotates on every use.

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "support/fake_aws_server.hpp"

namespace dsql::test {

// A fresh key as `aws login` writes it ("EC PRIVATE KEY" PEM; P-256 unless another curve is
// asked for, to test refusals) and its JWK coordinates.
struct dpop_test_key {
  std::string pem;
  std::string x, y;  // base64url, no padding
  static dpop_test_key generate(const char* curve = "P-256");
};

class fake_signin_service {
 public:
  struct settings {
    std::string client_id = "arn:aws:signin:::devtools/same-device";
    std::string refresh_token;  // the one the session holds now
    std::string jwk_x, jwk_y;   // the key the refresh token is bound to
    // What a successful refresh hands out.
    std::string access_key_id = "ASIALOGINREFRESHED01";
    std::string secret_access_key;
    std::string session_token;
    std::string next_refresh_token;
    long expires_in = 900;
  };

  fake_signin_service(fake_aws_server& server, settings s);

  // Every later request is refused as AccessDeniedException with this `error` code.
  void deny(const std::string& error_code);
  // Why requests were refused as malformed (a bad DPoP proof, a wrong body); empty when none.
  std::vector<std::string> problems() const;
  // Refreshes granted.
  int refreshes() const;
  // The URL proofs must name (htu).
  std::string token_url() const { return url_ + "/v1/token"; }

 private:
  scripted_response answer(const recorded_request& req);
  std::string check_proof(const std::string& proof);

  std::string url_;
  mutable std::mutex mutex_;
  settings s_;
  std::string denial_;
  std::set<std::string> seen_jti_;
  std::vector<std::string> problems_;
  int refreshes_ = 0;
};

}  // namespace dsql::test
