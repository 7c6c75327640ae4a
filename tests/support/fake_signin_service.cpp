#include "support/fake_signin_service.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "credentials/dpop.hpp"

namespace dsql::test {

namespace {

using json = nlohmann::json;

// base64url without padding, strictly; false for anything else.
bool b64url_decode(std::string in, std::string& out) {
  for (char c : in) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  for (char& c : in) c = c == '-' ? '+' : c == '_' ? '/' : c;
  const std::size_t pad = (4 - in.size() % 4) % 4;
  if (pad == 3) return false;
  in.append(pad, '=');
  out.assign(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return false;
  out.resize(static_cast<std::size_t>(n) - pad);
  return true;
}

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

// The public key a JWK names, built from its x and y (an uncompressed SEC1 point).
pkey_ptr public_key(const std::string& x, const std::string& y) {
  std::string point = "\x04" + x + y;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    key = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return pkey_ptr(key);
}

bool verify_es256(EVP_PKEY* key, const std::string& input, const std::string& raw_sig) {
  if (raw_sig.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw_sig.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw_sig.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      der_len > 0 && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

scripted_response json_answer(int status, const json& body, const std::string& error_type = {}) {
  scripted_response r{status, body.dump(), {{"Content-Type", "application/json"}}};
  if (!error_type.empty()) r.headers.emplace_back("x-amzn-ErrorType", error_type);
  return r;
}

}  // namespace

dpop_test_key dpop_test_key::generate(const char* curve) {
  pkey_ptr key(EVP_EC_gen(curve));
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey_traditional(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  dpop_test_key out;
  out.pem.assign(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  // The uncompressed point 04 || X || Y: another way to the coordinates than the library's.
  unsigned char point[133];
  std::size_t point_len = 0;
  EVP_PKEY_set_utf8_string_param(key.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                 "uncompressed");
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                      &point_len) != 1 ||
      point_len % 2 != 1) {
    throw std::runtime_error("no uncompressed public point");
  }
  const std::string p(reinterpret_cast<char*>(point), point_len);
  const std::size_t half = point_len / 2;
  out.x = credential_sources::dpop::base64url(p.substr(1, half));
  out.y = credential_sources::dpop::base64url(p.substr(1 + half, half));
  return out;
}

fake_signin_service::fake_signin_service(fake_aws_server& server, settings s)
    : url_(server.url()), s_(std::move(s)) {
  server.on("POST", "/v1/token", [this](const recorded_request& req) { return answer(req); });
}

void fake_signin_service::deny(const std::string& error_code) {
  std::lock_guard<std::mutex> lock(mutex_);
  denial_ = error_code;
}

std::vector<std::string> fake_signin_service::problems() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return problems_;
}

int fake_signin_service::refreshes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refreshes_;
}

// "" when the proof is one the service accepts; else why not. Called under the mutex.
std::string fake_signin_service::check_proof(const std::string& proof) {
  const auto dot1 = proof.find('.');
  const auto dot2 = proof.find('.', dot1 == std::string::npos ? dot1 : dot1 + 1);
  if (dot1 == std::string::npos || dot2 == std::string::npos) return "not a compact JWS";
  std::string header_text, payload_text, sig;
  if (!b64url_decode(proof.substr(0, dot1), header_text) ||
      !b64url_decode(proof.substr(dot1 + 1, dot2 - dot1 - 1), payload_text) ||
      !b64url_decode(proof.substr(dot2 + 1), sig)) {
    return "a part is not base64url without padding";
  }
  const json header = json::parse(header_text, nullptr, false);
  const json payload = json::parse(payload_text, nullptr, false);
  if (!header.is_object() || !payload.is_object()) return "header or payload is not JSON";
  if (header.value("typ", "") != "dpop+jwt" || header.value("alg", "") != "ES256") {
    return "typ must be dpop+jwt and alg ES256";
  }
  const json jwk = header.value("jwk", json::object());
  if (jwk.value("kty", "") != "EC" || jwk.value("crv", "") != "P-256") {
    return "jwk must be an EC P-256 key";
  }
  if (jwk.value("x", "") != s_.jwk_x || jwk.value("y", "") != s_.jwk_y) {
    return "jwk is not the key the refresh token is bound to";
  }
  std::string x, y;
  if (!b64url_decode(jwk.value("x", ""), x) || !b64url_decode(jwk.value("y", ""), y) ||
      x.size() != 32 || y.size() != 32) {
    return "jwk coordinates are not 32 bytes each";
  }
  const pkey_ptr key = public_key(x, y);
  if (!key) return "jwk is not a point on P-256";
  if (!verify_es256(key.get(), proof.substr(0, dot2), sig)) return "signature does not verify";
  if (payload.value("htm", "") != "POST") return "htm must be POST";
  if (payload.value("htu", "") != token_url()) return "htu must be " + token_url();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (!payload.contains("iat") || !payload["iat"].is_number_integer() ||
      payload["iat"].get<long long>() < now - 300 || payload["iat"].get<long long>() > now + 300) {
    return "iat must be the current time";
  }
  const std::string jti = payload.value("jti", "");
  if (jti.empty()) return "jti is missing";
  if (!seen_jti_.insert(jti).second) return "jti was used before";
  return {};
}

scripted_response fake_signin_service::answer(const recorded_request& req) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto invalid = [&](const std::string& why) {
    problems_.push_back(why);
    return json_answer(
        400, {{"__type", "ValidationException"}, {"error", "INVALID_REQUEST"}, {"message", why}},
        "ValidationException");
  };
  if (req.header("authorization")) return invalid("CreateOAuth2Token is not SigV4-signed");
  if (req.header("content-type").value_or("").rfind("application/json", 0) != 0) {
    return invalid("Content-Type must be application/json");
  }
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || body.value("grantType", "") != "refresh_token" ||
      body.value("clientId", "") != s_.client_id || body.value("refreshToken", "").empty()) {
    return invalid("the body must hold clientId, grantType refresh_token and refreshToken");
  }
  const auto dpop = req.header("dpop");
  if (!dpop) return invalid("no DPoP header");
  if (const std::string why = check_proof(*dpop); !why.empty()) {
    return invalid("invalid DPoP proof: " + why);
  }
  if (!denial_.empty()) {
    const int status = denial_ == "TOKEN_EXPIRED" ? 401 : 403;
    return json_answer(status,
                       {{"__type", "AccessDeniedException"},
                        {"error", denial_},
                        {"message", "Access denied: " + denial_}},
                       "AccessDeniedException");
  }
  if (body.value("refreshToken", "") != s_.refresh_token) {
    return json_answer(401,
                       {{"__type", "AccessDeniedException"},
                        {"error", "TOKEN_EXPIRED"},
                        {"message", "The refresh token is not valid"}},
                       "AccessDeniedException");
  }
  ++refreshes_;
  s_.refresh_token = s_.next_refresh_token;
  return json_answer(200, {{"accessToken",
                            {{"accessKeyId", s_.access_key_id},
                             {"secretAccessKey", s_.secret_access_key},
                             {"sessionToken", s_.session_token}}},
                           {"tokenType", "aws_sigv4"},
                           {"expiresIn", s_.expires_in},
                           {"refreshToken", s_.next_refresh_token}});
}

}  // namespace dsql::test
