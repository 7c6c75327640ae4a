#include "sigv4/sigv4.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>
#include <new>
#include <stdexcept>

#include "util/time_format.hpp"

namespace dsql::sigv4 {
namespace {

// Fetching an algorithm costs a lock and a lookup in OpenSSL 3; do it once per process.
EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("OpenSSL has no SHA256");
  return md;
}

EVP_MAC* hmac_mac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) throw std::runtime_error("OpenSSL has no HMAC");
  return mac;
}

constexpr char hex_digits[] = "0123456789abcdef";
constexpr char upper_hex_digits[] = "0123456789ABCDEF";

constexpr bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

struct unreserved_lookup {
  bool table[256] = {};
  constexpr unreserved_lookup() {
    for (int c = 0; c < 256; ++c) table[c] = is_unreserved(static_cast<unsigned char>(c));
  }
  constexpr bool operator[](unsigned char c) const { return table[c]; }
};
constexpr unreserved_lookup unreserved_table;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string to_hex(const unsigned char* data, std::size_t size) {
  std::string out(size * 2, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = hex_digits[data[i] >> 4];
    out[2 * i + 1] = hex_digits[data[i] & 0x0f];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  // One digest context per thread saves an allocation per hash.
  struct ctx_holder {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~ctx_holder() { EVP_MD_CTX_free(ctx); }
  };
  thread_local ctx_holder holder;
  if (holder.ctx == nullptr) throw std::bad_alloc();
  digest d{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex(holder.ctx, sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(holder.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(holder.ctx, d.data(), &len) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return to_hex(d);
}

struct hmac_key::impl {
  EVP_MAC_CTX* ctx = nullptr;  // keyed once; never used directly, only copied or re-initialised
  std::mutex mutex;
  EVP_MAC_CTX* work = nullptr;  // a keyed copy that is reset between uses, under `mutex`
  ~impl() {
    EVP_MAC_CTX_free(work);
    EVP_MAC_CTX_free(ctx);
  }
};

hmac_key::hmac_key(std::string_view key) : impl_(std::make_unique<impl>()) {
  impl_->ctx = EVP_MAC_CTX_new(hmac_mac());
  if (impl_->ctx == nullptr) throw std::bad_alloc();
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(impl_->ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1) {
    throw std::runtime_error("HMAC initialisation failed");
  }
}

hmac_key::hmac_key(const digest& key)
    : hmac_key(std::string_view(reinterpret_cast<const char*>(key.data()), key.size())) {}

hmac_key::~hmac_key() = default;
hmac_key::hmac_key(hmac_key&&) noexcept = default;
hmac_key& hmac_key::operator=(hmac_key&&) noexcept = default;

digest hmac_key::mac(std::string_view data) const {
  digest out{};
  std::size_t len = 0;
  auto run = [&](EVP_MAC_CTX* ctx) {
    return EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) ==
               1 &&
           EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1;
  };
  bool ok = false;
  // Re-initialising a keyed context with no key keeps the key and is much cheaper than a copy;
  // a second thread arriving meanwhile takes a copy instead of waiting.
  std::unique_lock<std::mutex> lock(impl_->mutex, std::try_to_lock);
  if (lock.owns_lock()) {
    if (impl_->work == nullptr) impl_->work = EVP_MAC_CTX_dup(impl_->ctx);
    if (impl_->work == nullptr) throw std::bad_alloc();
    ok = EVP_MAC_init(impl_->work, nullptr, 0, nullptr) == 1 && run(impl_->work);
  } else {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(impl_->ctx);
    if (ctx == nullptr) throw std::bad_alloc();
    ok = run(ctx);
    EVP_MAC_CTX_free(ctx);
  }
  if (!ok || len != out.size()) throw std::runtime_error("HMAC failed");
  return out;
}

digest hmac_sha256(std::string_view key, std::string_view data) {
  return hmac_key(key).mac(data);
}

digest derive_signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                          std::string_view service) {
  std::string k_secret;
  k_secret.reserve(4 + secret.size());
  k_secret.append("AWS4").append(secret);
  auto as_view = [](const digest& d) {
    return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
  };
  digest k_date = hmac_sha256(k_secret, date8);
  OPENSSL_cleanse(k_secret.data(), k_secret.size());
  digest k_region = hmac_sha256(as_view(k_date), region);
  digest k_service = hmac_sha256(as_view(k_region), service);
  digest k_signing = hmac_sha256(as_view(k_service), "aws4_request");
  OPENSSL_cleanse(k_date.data(), k_date.size());
  OPENSSL_cleanse(k_region.data(), k_region.size());
  OPENSSL_cleanse(k_service.data(), k_service.size());
  return k_signing;
}

void uri_encode_append(std::string& out, std::string_view s) {
  // Tokens encode ~1 KB session tokens on every connection: write into room made once.
  const std::size_t start = out.size();
  out.resize(start + s.size() * 3);
  char* p = out.data() + start;
  for (unsigned char c : s) {
    if (unreserved_table[c]) {
      *p++ = static_cast<char>(c);
    } else {
      *p++ = '%';
      *p++ = upper_hex_digits[c >> 4];
      *p++ = upper_hex_digits[c & 0x0f];
    }
  }
  out.resize(static_cast<std::size_t>(p - out.data()));
}

std::string uri_encode(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  uri_encode_append(out, s);
  return out;
}

std::optional<std::string> uri_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string format_amz_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[17];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf, 16);
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto digits = [&](std::size_t pos, std::size_t n) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  // The calendar checks and the conversion are the ISO 8601 parser's (digits() gives -1 for a
  // non-digit, which no field accepts).
  const auto secs = util::seconds_from_utc(digits(0, 4), digits(4, 2), digits(6, 2), digits(9, 2),
                                           digits(11, 2), digits(13, 2));
  if (!secs) return std::nullopt;
  return util::to_time_point(*secs);
}

std::string canonical_query(const query_params& params) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const auto& [name, value] : params)
    encoded.emplace_back(uri_encode(name), uri_encode(value));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out.append(name).append("=").append(value);
  }
  return out;
}

std::string presigned_get_canonical_request(std::string_view canonical_query,
                                            std::string_view host) {
  std::string out;
  out.reserve(canonical_query.size() + host.size() + 96);
  out.append("GET\n/\n")
      .append(canonical_query)
      .append("\nhost:")
      .append(host)
      .append("\n\nhost\n")
      .append(empty_payload_sha256);
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out;
  out.reserve(algorithm.size() + amz_date.size() + scope.size() + 68);
  out.append(algorithm)
      .append("\n")
      .append(amz_date)
      .append("\n")
      .append(scope)
      .append("\n")
      .append(sha256_hex(canonical_request));
  return out;
}

bool constant_time_equals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace dsql::sigv4
