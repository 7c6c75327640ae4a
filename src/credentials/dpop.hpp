#pragma once

// DPoP proofs (RFC 9449) for AWS Sign-In: `aws login` binds its refresh token to a P-256 key
// (the cache's dpopKey) and CreateOAuth2Token wants, in a DPoP header, a JWT signed with it:
// header {"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x","y"}}, payload
// {"jti","htm","htu","iat"}, signature r||s (64 bytes), all base64url without padding. This is
// what botocore (_build_dpop_header), aws-sdk-js-v3 (LoginCredentialsFetcher) and the Rust SDK
// (login/dpop.rs) send. The signing itself is OpenSSL's.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;

namespace dsql::credential_sources::dpop {

class key {
 public:
  // Reads a PEM EC private key ("EC PRIVATE KEY" as the CLI writes it, or PKCS#8) on P-256.
  // Throws credentials_error naming `who`, never quoting the key.
  static key from_pem(std::string_view pem, const std::string& who);

  // The public point as the JWK's x and y: base64url of 32 big-endian bytes each.
  const std::string& jwk_x() const { return x_; }
  const std::string& jwk_y() const { return y_; }

  // A compact JWS: a fresh random jti, `method`, `url` (without query) and `now` as iat.
  std::string proof(const std::string& method, const std::string& url,
                    std::chrono::system_clock::time_point now) const;

 private:
  struct deleter {
    void operator()(EVP_PKEY* k) const;
  };
  std::shared_ptr<EVP_PKEY> pkey_;
  std::string x_, y_;
};

// base64url without padding (RFC 4648 section 5), as JWTs use it.
std::string base64url(std::string_view bytes);

}  // namespace dsql::credential_sources::dpop
