// The SSO access token `aws sso login` cached in ~/.aws/sso/cache, refreshed through SSO-OIDC
// CreateToken as botocore's SSOTokenProvider does (botocore/tokens.py): within 15 minutes of its
// expiry, for profiles with an sso_session, with the client registration and refresh token that
// the CLI cached beside the access token.

#include <chrono>

#include "credentials/json_service.hpp"
#include "credentials/sources.hpp"
#include "credentials/token_cache.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"
#include "util/time_format.hpp"

namespace dsql::credential_sources {

namespace {

using clock = std::chrono::system_clock;

std::string oidc_endpoint(const std::string& region) {
  if (auto url = configured_endpoint("AWS_ENDPOINT_URL_SSO_OIDC")) return *url;
  return "https://oidc." + region + ".amazonaws.com" + (region.rfind("cn-", 0) == 0 ? ".cn" : "");
}

// Refreshes `doc` in place; returns why it could not be refreshed, or "" when it was.
std::string refresh(nlohmann::json& doc, const sso_token_config& cfg, const network_settings& net,
                    clock::time_point now) {
  std::string missing;
  for (const char* key : {"refreshToken", "clientId", "clientSecret", "registrationExpiresAt"}) {
    if (json_text(doc, key).empty()) missing += std::string(missing.empty() ? "" : ", ") + key;
  }
  if (!missing.empty()) return "the cache has no " + missing;
  const auto registered_until = util::parse_expiration(json_text(doc, "registrationExpiresAt"));
  if (!registered_until) return "its registrationExpiresAt is not a valid time";
  if (*registered_until <= now) {
    return "the client registration expired at " + util::format_iso8601(*registered_until);
  }

  const std::string url = join_url(oidc_endpoint(cfg.region), "/token");
  const std::string refresh_token = json_text(doc, "refreshToken");
  const std::string client_secret = json_text(doc, "clientSecret");
  const json_call call{"SSO-OIDC CreateToken at " + http::describe_endpoint(url),
                       "AWS_ENDPOINT_URL_SSO_OIDC",
                       {refresh_token, client_secret, json_text(doc, "accessToken")}};
  const std::string body = nlohmann::json{
      {"grantType", "refresh_token"},
      {"clientId", json_text(doc, "clientId")},
      {"clientSecret", client_secret},
      {"refreshToken",
       refresh_token}}.dump();
  const json_answer a = call_json_service(
      call, [&] { return json_request("POST", url, body, net); }, net);
  if (!a.failure.empty()) return unreachable(call, a);
  if (a.status != 200) {
    std::string why = call.service + " answered HTTP " + std::to_string(a.status);
    if (!a.detail.empty()) why += " (" + a.detail + ")";
    if (a.error_code == "invalid_grant" || a.error_code == "expired_token") {
      why += ": the refresh token is no longer valid";
    } else if (a.error_code == "invalid_client" || a.error_code == "unauthorized_client") {
      why += ": the client registration is no longer valid";
    } else if (a.status >= 500 || a.status == 429) {
      why += ": the service is unavailable; retry later";
    }
    return why;
  }
  const std::string access_token = json_text(a.doc, "accessToken");
  const auto lifetime = lifetime_seconds(a.doc, "expiresIn");
  if (access_token.empty() || !lifetime) {
    return call.service + " answered without accessToken and expiresIn; check " +
           call.override_variable;
  }
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  doc["accessToken"] = access_token;
  doc["expiresAt"] = util::format_iso8601(util::expiration_at(now_s.count() + *lifetime));
  // Kept when the answer has none: the old one may still refresh (botocore drops it).
  if (const std::string rotated = json_text(a.doc, "refreshToken"); !rotated.empty()) {
    doc["refreshToken"] = rotated;
  }
  return {};
}

}  // namespace

std::string sso_access_token(const sso_token_config& cfg, const network_settings& net) {
  const std::string path =
      util::home_directory() + "/.aws/sso/cache/" + sso_cache_file_name(cfg.cache_key);
  const std::string relogin = "run `" + cfg.login_hint + "`";
  const auto lock = lock_token_caches();
  std::optional<nlohmann::json> doc =
      read_token_cache(path, cfg.who + ": the cached SSO token", "remove it and " + relogin);
  if (!doc) {
    throw credentials_error(cfg.who + ": no cached SSO token at " + util::printable(path) + "; " +
                            relogin);
  }
  const std::string token = json_text(*doc, "accessToken");
  const auto expires = util::parse_expiration(json_text(*doc, "expiresAt"));
  if (token.empty() || !expires) {
    throw credentials_error(cfg.who + ": the cached SSO token " + util::printable(path) +
                            " is not valid (it needs accessToken and expiresAt); " + relogin);
  }
  const auto now = clock::now();
  if (*expires > now + sso_refresh_window) return token;

  const std::string why_not =
      cfg.session.empty()
          ? "a legacy profile (sso_start_url without sso_session) is never refreshed; `aws "
            "configure sso-session` sets up one that is"
          : refresh(*doc, cfg, net, now);
  if (why_not.empty()) {
    write_token_cache(path, *doc, cfg.who + ": the refreshed SSO token",
                      "check the permissions of the directory, or " + relogin);
    return json_text(*doc, "accessToken");
  }
  // The old token still works: use it, and try the refresh again next time (botocore too).
  if (*expires > now) return token;
  throw credentials_error(cfg.who + ": the cached SSO token expired at " +
                          util::format_iso8601(*expires) + " and cannot be refreshed: " + why_not +
                          "; " + relogin);
}

}  // namespace dsql::credential_sources
