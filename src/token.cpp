#include "dsql/token.hpp"

#include <openssl/crypto.h>

#include <mutex>
#include <optional>
#include <string>

#include "dsql/endpoint.hpp"
#include "dsql/errors.hpp"
#include "observe.hpp"
#include "sigv4/sigv4.hpp"
#include "util/host_name.hpp"
#include "util/printable.hpp"
#include "util/time_format.hpp"

namespace dsql {
namespace {

constexpr std::string_view service = "dsql";

void check_request(const token_request& request, const credentials& creds) {
  if (request.hostname.empty()) {
    throw config_error("cannot sign a token: the hostname is empty; give the cluster endpoint");
  }
  util::check_host_name(request.hostname, "token hostname");
  if (!is_region_name(request.region)) {
    throw config_error(request.region.empty()
                           ? "cannot sign a token: no region; set one (e.g. us-east-1)"
                           : "cannot sign a token: " + util::quoted(request.region) +
                                 " is not a valid region (e.g. us-east-1)");
  }
  if (request.expires_in.count() < 1 || request.expires_in > max_token_expiry) {
    throw config_error("token expiry must be between 1 and 604800 seconds (one week), got " +
                       std::to_string(request.expires_in.count()));
  }
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    throw credentials_error(
        "cannot sign a token: the credentials" +
        (creds.source.empty() ? std::string() : " from " + util::printable(creds.source)) +
        " have an empty access key ID or secret access key");
  }
}

// Query parameters before the signature, already in canonical (sorted, encoded) order:
// Action < X-Amz-Algorithm < X-Amz-Credential < X-Amz-Date < X-Amz-Expires < X-Amz-Security-Token.
std::string query_before_signature(const token_request& request, const credentials& creds,
                                   std::string_view encoded_session_token,
                                   std::string_view amz_date, std::string_view scope) {
  std::string q;
  q.reserve(256 + encoded_session_token.size());
  q.append("Action=").append(to_string(request.action));
  q.append("&X-Amz-Algorithm=").append(sigv4::algorithm);
  q.append("&X-Amz-Credential=");
  sigv4::uri_encode_append(q, creds.access_key_id);
  q.append("%2F");
  sigv4::uri_encode_append(q, scope);
  q.append("&X-Amz-Date=").append(amz_date);
  q.append("&X-Amz-Expires=").append(std::to_string(request.expires_in.count()));
  if (!encoded_session_token.empty()) {
    q.append("&X-Amz-Security-Token=").append(encoded_session_token);
  }
  return q;
}

// `encoded_session_token` is the URI-encoded session token (empty without one).
std::string sign_with_key(const token_request& request, const credentials& creds,
                          std::string_view encoded_session_token, std::string_view amz_date,
                          const sigv4::hmac_key& key) {
  std::string scope;
  scope.append(amz_date.substr(0, 8))
      .append("/")
      .append(request.region)
      .append("/dsql/aws4_request");
  const std::string before =
      query_before_signature(request, creds, encoded_session_token, amz_date, scope);
  constexpr std::string_view signed_headers = "X-Amz-SignedHeaders=host";

  std::string canonical_query;
  canonical_query.reserve(before.size() + signed_headers.size() + 1);
  canonical_query.append(before).append("&").append(signed_headers);
  const std::string signature = sigv4::to_hex(key.mac(sigv4::string_to_sign(
      amz_date, scope, sigv4::presigned_get_canonical_request(canonical_query, request.hostname))));

  // Emitted sorted with the signature in place, as AWS's JavaScript signer does.
  std::string token;
  token.reserve(request.hostname.size() + canonical_query.size() + 100);
  token.append(request.hostname)
      .append("/?")
      .append(before)
      .append("&X-Amz-Signature=")
      .append(signature)
      .append("&")
      .append(signed_headers);
  return token;
}

// A clock (or --signing-time) far outside the present would overflow the arithmetic below and
// produce a date SigV4 cannot carry.
void check_signing_time(std::chrono::system_clock::time_point t) {
  if (util::in_safe_range(t)) return;
  throw config_error("cannot sign a token at " + util::format_iso8601(t) +
                     ": the signing time must be between 1970-01-01T00:00:00Z and " +
                     util::far_future_text + "; check the clock or the signing time given");
}

void check_expiration(const token_request& request, const credentials& creds,
                      std::chrono::system_clock::time_point now) {
  if (!creds.expiration) return;
  const auto token_end = now + request.expires_in;
  if (*creds.expiration >= token_end) return;
  const std::string from = creds.source.empty() ? "" : " from " + util::printable(creds.source);
  // Compared before subtracting: a provider may hand out any time point, even min().
  const auto left =
      *creds.expiration <= now
          ? 0
          : std::chrono::duration_cast<std::chrono::seconds>(*creds.expiration - now).count();
  if (left <= 0) {
    throw credentials_error("the credentials" + from + " expired at " +
                            util::format_iso8601(*creds.expiration) +
                            "; refresh them (e.g. aws sso login, or new session credentials)");
  }
  throw credentials_error("the credentials" + from + " expire in " + std::to_string(left) +
                          " s, before a token valid for " +
                          std::to_string(request.expires_in.count()) +
                          " s would; lower the token duration (tokenDurationSecs) below " +
                          std::to_string(left) + " s or use longer-lived credentials");
}

}  // namespace

token_action action_for_user(std::string_view user) noexcept {
  return user == "admin" ? token_action::db_connect_admin : token_action::db_connect;
}

std::string_view to_string(token_action action) noexcept {
  return action == token_action::db_connect_admin ? "DbConnectAdmin" : "DbConnect";
}

std::string generate_token(const token_request& request, const credentials& creds,
                           std::chrono::system_clock::time_point signing_time) {
  check_request(request, creds);
  check_signing_time(signing_time);
  const std::string amz_date = sigv4::format_amz_date(signing_time);
  const sigv4::hmac_key key(sigv4::derive_signing_key(
      creds.secret_access_key, std::string_view(amz_date).substr(0, 8), request.region, service));
  return sign_with_key(request, creds, sigv4::uri_encode(creds.session_token), amz_date, key);
}

// What stays the same while the credentials do: the derived key, which depends only on
// (secret, date, region) and costs four HMACs, and the encoded session token (about 1 KB to
// encode for STS credentials).
struct token_generator::key_cache {
  struct material {
    std::shared_ptr<const sigv4::hmac_key> key;
    std::shared_ptr<const std::string> encoded_session_token;
  };

  std::mutex mutex;
  std::string secret;
  std::string date8;
  std::string region;
  std::string session_token;
  material cached;

  ~key_cache() {
    OPENSSL_cleanse(secret.data(), secret.size());
    OPENSSL_cleanse(session_token.data(), session_token.size());
  }

  material get(const credentials& creds, std::string_view date8_now, std::string_view region_now) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!cached.key || date8 != date8_now || region != region_now ||
        !sigv4::constant_time_equals(secret, creds.secret_access_key)) {
      OPENSSL_cleanse(secret.data(), secret.size());
      secret = creds.secret_access_key;
      date8 = std::string(date8_now);
      region = std::string(region_now);
      cached.key = std::make_shared<const sigv4::hmac_key>(
          sigv4::derive_signing_key(secret, date8, region, service));
    }
    if (!cached.encoded_session_token || session_token != creds.session_token) {
      OPENSSL_cleanse(session_token.data(), session_token.size());
      session_token = creds.session_token;
      cached.encoded_session_token =
          std::make_shared<const std::string>(sigv4::uri_encode(session_token));
    }
    return cached;
  }
};

token_generator::token_generator(std::shared_ptr<credentials_provider> provider,
                                 clock_function clock)
    : provider_(std::move(provider)),
      clock_(clock ? std::move(clock) : clock_function(&std::chrono::system_clock::now)),
      cache_(std::make_unique<key_cache>()) {
  if (!provider_) throw config_error("token_generator needs a credentials provider");
}

token_generator::~token_generator() = default;

std::string token_generator::generate(const token_request& request) {
  const credentials creds = provider_->resolve();
  check_request(request, creds);
  const auto now = clock_();
  check_signing_time(now);
  check_expiration(request, creds, now);
  const std::string amz_date = sigv4::format_amz_date(now);
  const auto m = cache_->get(creds, std::string_view(amz_date).substr(0, 8), request.region);
  std::string token = sign_with_key(request, creds, *m.encoded_session_token, amz_date, *m.key);
  if (detail::log_on(log_level::debug)) {
    // What was signed and until when; the token itself is a password and never logged.
    detail::log(log_level::debug, "token.signed",
                {{"host", request.hostname},
                 {"region", request.region},
                 {"action", std::string(to_string(request.action))},
                 {"expires_in_s", std::to_string(request.expires_in.count())},
                 {"expires_at", util::format_iso8601(now + request.expires_in)},
                 {"credentials", creds.source}});
  }
  return token;
}

}  // namespace dsql
