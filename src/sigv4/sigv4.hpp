#pragma once

// SigV4 building blocks shared by the token signer (client) and the token verifier (dsql local),
// and by the STS request signer. Crypto is OpenSSL's; this file only arranges the strings.

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dsql::sigv4 {

using digest = std::array<unsigned char, 32>;

// SHA-256 of data, as lowercase hex.
std::string sha256_hex(std::string_view data);
std::string to_hex(const unsigned char* data, std::size_t size);
inline std::string to_hex(const digest& d) {
  return to_hex(d.data(), d.size());
}

// HMAC-SHA256 with a key that is set once and used many times (the derived signing key).
class hmac_key {
 public:
  explicit hmac_key(std::string_view key);
  hmac_key(const digest& key);  // NOLINT(google-explicit-constructor): digests are keys
  ~hmac_key();
  hmac_key(hmac_key&&) noexcept;
  hmac_key& operator=(hmac_key&&) noexcept;
  hmac_key(const hmac_key&) = delete;
  hmac_key& operator=(const hmac_key&) = delete;

  digest mac(std::string_view data) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

digest hmac_sha256(std::string_view key, std::string_view data);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")
digest derive_signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                          std::string_view service);

// RFC 3986 encoding as SigV4 wants it: A-Za-z0-9-_.~ kept, every other byte %XX uppercase.
std::string uri_encode(std::string_view s);
void uri_encode_append(std::string& out, std::string_view s);
// Decodes %XX; returns nullopt on a malformed escape. '+' stays '+'.
std::optional<std::string> uri_decode(std::string_view s);

// "YYYYMMDDTHHMMSSZ" in UTC.
std::string format_amz_date(std::chrono::system_clock::time_point t);
// Parses "YYYYMMDDTHHMMSSZ"; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s);

using query_params = std::vector<std::pair<std::string, std::string>>;

// Encodes names and values, sorts by encoded name then value, joins with '&'.
std::string canonical_query(const query_params& params);

// The canonical request of a presigned GET to "/" with only `host` signed and an empty body.
std::string presigned_get_canonical_request(std::string_view canonical_query,
                                            std::string_view host);

// "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256(canonical request)>"
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

// Constant-time comparison for signatures.
bool constant_time_equals(std::string_view a, std::string_view b) noexcept;

inline constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace dsql::sigv4
