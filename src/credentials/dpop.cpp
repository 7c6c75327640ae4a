#include "credentials/dpop.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "dsql/errors.hpp"

namespace dsql::credential_sources::dpop {

namespace {

constexpr int coordinate_bytes = 32;  // P-256

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct bn_free {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct sig_free {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

// No passphrase: an encrypted key must fail, not prompt on the terminal.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

std::string padded(const BIGNUM* n) {
  std::string out(coordinate_bytes, '\0');
  if (BN_bn2binpad(n, reinterpret_cast<unsigned char*>(out.data()), coordinate_bytes) !=
      coordinate_bytes) {
    throw credentials_error("DPoP: a P-256 value does not fit 32 bytes");
  }
  return out;
}

std::string uuid_v4() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw credentials_error("DPoP: no random bytes from OpenSSL");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace

void key::deleter::operator()(EVP_PKEY* k) const {
  EVP_PKEY_free(k);
}

std::string base64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

key key::from_pem(std::string_view pem, const std::string& who) {
  // OpenSSL's messages can quote parts of the input; ours name the problem only.
  const auto fail = [&](const std::string& what) {
    ERR_clear_error();
    return credentials_error(who + ": " + what);
  };
  std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::bad_alloc();
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr);
  if (raw == nullptr) throw fail("the dpopKey is not a PEM private key");
  key k;
  k.pkey_.reset(raw, deleter{});
  char group[64] = {};
  std::size_t group_len = 0;
  if (!EVP_PKEY_is_a(raw, "EC") ||
      EVP_PKEY_get_utf8_string_param(raw, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &group_len) != 1 ||
      std::string(group) != "prime256v1") {
    throw fail("the dpopKey is not an EC key on P-256");
  }
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  const bool have_x = EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1;
  const std::unique_ptr<BIGNUM, bn_free> x_owner(x);
  const bool have_y = EVP_PKEY_get_bn_param(raw, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1;
  const std::unique_ptr<BIGNUM, bn_free> y_owner(y);
  if (!have_x || !have_y) throw fail("the dpopKey has no public point");
  k.x_ = base64url(padded(x));
  k.y_ = base64url(padded(y));
  return k;
}

std::string key::proof(const std::string& method, const std::string& url,
                       std::chrono::system_clock::time_point now) const {
  const nlohmann::json header = {{"typ", "dpop+jwt"},
                                 {"alg", "ES256"},
                                 {"jwk", {{"kty", "EC"}, {"x", x_}, {"y", y_}, {"crv", "P-256"}}}};
  const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const nlohmann::json payload = {{"jti", uuid_v4()}, {"htm", method}, {"htu", url}, {"iat", iat}};
  const std::string input = base64url(header.dump()) + "." + base64url(payload.dump());

  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    throw credentials_error("DPoP: OpenSSL could not sign with the dpopKey");
  }
  std::vector<unsigned char> der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    throw credentials_error("DPoP: OpenSSL could not sign with the dpopKey");
  }
  // JWS wants r||s, not the DER sequence OpenSSL produces (RFC 7518 section 3.4).
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, sig_free> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) throw credentials_error("DPoP: OpenSSL produced an unreadable signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  return input + "." + base64url(padded(r) + padded(s));
}

}  // namespace dsql::credential_sources::dpop
