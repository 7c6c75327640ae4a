// `aws login` console sessions (login_session profiles), as botocore's LoginProvider and
// LoginCredentialFetcher, aws-sdk-js-v3's LoginCredentialsFetcher and aws-sdk-go-v2's logincreds
// resolve them: the CLI caches short-term credentials (15 minutes), a refresh token and a DPoP
// key in ~/.aws/login/cache/<sha256(login_session)>.json; near expiry the SDKs call AWS Sign-In's
// CreateOAuth2Token (POST /v1/token, JSON, unsigned, a DPoP proof) and write the new
// credentials and refresh token back. The session itself lasts up to 12 hours; then only
// `aws login` helps.

#include <chrono>

#include "credentials/dpop.hpp"
#include "credentials/json_service.hpp"
#include "credentials/sources.hpp"
#include "credentials/token_cache.hpp"
#include "dsql/errors.hpp"
#include "sigv4/sigv4.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"
#include "util/time_format.hpp"

namespace dsql::credential_sources {

namespace {

using clock = std::chrono::system_clock;

struct login_config {
  std::string profile;
  std::string who;      // "AWS profile 'dev' (login_session)"
  std::string relogin;  // "run `aws login --profile dev`"
  std::string region;   // for the sign-in endpoint; may be empty until a refresh needs it
};

// The cached session's fields the SDKs require (botocore _REQUIRED_TOKEN_FIELDS, the JS and Go
// validations): names only in messages, never values.
std::string missing_fields(const nlohmann::json& doc) {
  std::string missing;
  const auto add = [&](const std::string& name) {
    missing += (missing.empty() ? "" : ", ") + name;
  };
  const auto it = doc.find("accessToken");
  if (it == doc.end() || !it->is_object()) {
    add("accessToken");
  } else {
    for (const char* key :
         {"accessKeyId", "secretAccessKey", "sessionToken", "accountId", "expiresAt"}) {
      if (json_text(*it, key).empty()) add(std::string("accessToken.") + key);
    }
  }
  for (const char* key : {"refreshToken", "clientId", "dpopKey"}) {
    if (json_text(doc, key).empty()) add(key);
  }
  return missing;
}

credentials from_cache(const nlohmann::json& doc, const std::string& profile,
                       clock::time_point expires) {
  const nlohmann::json& at = doc.at("accessToken");
  credentials c;
  c.access_key_id = json_text(at, "accessKeyId");
  c.secret_access_key = json_text(at, "secretAccessKey");
  c.session_token = json_text(at, "sessionToken");
  c.expiration = expires;
  c.source = "login:" + profile;
  return c;
}

// The regional AWS Sign-In endpoint (botocore's signin endpoint rules), unless overridden.
std::string signin_endpoint(const login_config& cfg) {
  if (auto url = configured_endpoint("AWS_ENDPOINT_URL_SIGNIN")) return *url;
  if (cfg.region.empty()) {
    throw credentials_error(cfg.who +
                            ": refreshing the session needs a region for AWS Sign-In; add "
                            "region = ... to the profile (aws login writes one) or set AWS_REGION");
  }
  for (const char c : cfg.region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      throw credentials_error(cfg.who + ": the region " + util::quoted(cfg.region) +
                              " is not a valid AWS region name");
    }
  }
  if (cfg.region.rfind("cn-", 0) == 0) return "https://" + cfg.region + ".signin.amazonaws.cn";
  if (cfg.region.rfind("us-gov-", 0) == 0) {
    return "https://" + cfg.region + ".signin.amazonaws-us-gov.com";
  }
  return "https://" + cfg.region + ".signin.aws.amazon.com";
}

// What an AccessDeniedException's error code means, as the SDKs word it.
std::string denied_hint(const std::string& code, const login_config& cfg) {
  if (code == "TOKEN_EXPIRED") return "the login session has expired; " + cfg.relogin;
  if (code == "USER_CREDENTIALS_CHANGED") {
    return "the password changed since the session began; " + cfg.relogin +
           " with the new password";
  }
  if (code == "INSUFFICIENT_PERMISSIONS") {
    return "the identity may not refresh its session: it needs signin:CreateOAuth2Token (the "
           "SignInLocalDevelopmentAccess managed policy); then " +
           cfg.relogin;
  }
  return cfg.relogin;
}

// CreateOAuth2Token with the cached refresh token; updates `doc` and returns the new expiry.
clock::time_point refresh(nlohmann::json& doc, const login_config& cfg,
                          const network_settings& net) {
  const dpop::key key =
      dpop::key::from_pem(json_text(doc, "dpopKey"), cfg.who + ": the cached login session");
  const std::string url = join_url(signin_endpoint(cfg), "/v1/token");
  const std::string refresh_token = json_text(doc, "refreshToken");
  const json_call call{
      "AWS Sign-In CreateOAuth2Token at " + http::describe_endpoint(url),
      "AWS_ENDPOINT_URL_SIGNIN",
      {refresh_token, json_text(doc, "dpopKey"), json_text(doc["accessToken"], "secretAccessKey"),
       json_text(doc["accessToken"], "sessionToken")}};
  const std::string body = nlohmann::json{
      {"clientId", json_text(doc, "clientId")},
      {"refreshToken", refresh_token},
      {"grantType",
       "refresh_token"}}.dump();
  const json_answer a = call_json_service(
      call,
      [&] {
        http::request r = json_request("POST", url, body, net);
        // A proof per attempt: the service may refuse a jti it has seen.
        r.headers.emplace_back("DPoP", key.proof("POST", url, clock::now()));
        return r;
      },
      net);
  if (!a.failure.empty()) throw credentials_error(cfg.who + ": " + unreachable(call, a));
  if (a.status != 200) {
    std::string msg = cfg.who + ": " + call.service + " answered HTTP " + std::to_string(a.status);
    if (!a.detail.empty()) msg += " (" + a.detail + ")";
    if (a.status >= 500 || a.status == 429) {
      msg += "; the service is unavailable: retry later, or " + cfg.relogin;
    } else {
      msg += "; " + denied_hint(a.error_code, cfg);
    }
    throw credentials_error(msg);
  }
  // The answer is CreateOAuth2Token's tokenOutput: accessToken {accessKeyId, secretAccessKey,
  // sessionToken}, expiresIn (at most 900), refreshToken, tokenType.
  const auto at = a.doc.find("accessToken");
  const auto lifetime = lifetime_seconds(a.doc, "expiresIn");
  const std::string rotated = json_text(a.doc, "refreshToken");
  if (at == a.doc.end() || !at->is_object() || json_text(*at, "accessKeyId").empty() ||
      json_text(*at, "secretAccessKey").empty() || json_text(*at, "sessionToken").empty() ||
      !lifetime || rotated.empty()) {
    throw credentials_error(cfg.who + ": " + call.service +
                            " answered without accessToken, expiresIn and refreshToken; check "
                            "AWS_ENDPOINT_URL_SIGNIN, or " +
                            cfg.relogin);
  }
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock::now().time_since_epoch());
  const clock::time_point expires = util::expiration_at(now_s.count() + *lifetime);
  // Everything else (accountId, clientId, dpopKey, idToken, fields we do not know) stays.
  nlohmann::json& cached = doc["accessToken"];
  for (const char* field : {"accessKeyId", "secretAccessKey", "sessionToken"}) {
    cached[field] = json_text(*at, field);
  }
  cached["expiresAt"] = util::format_iso8601(expires);
  doc["refreshToken"] = rotated;
  return expires;
}

}  // namespace

std::string login_cache_directory() {
  if (auto dir = util::get_env("AWS_LOGIN_CACHE_DIRECTORY")) {
    if (*dir == "~" || dir->rfind("~/", 0) == 0) return util::home_directory() + dir->substr(1);
    return *dir;
  }
  return util::home_directory() + "/.aws/login/cache";
}

std::string login_cache_file_name(const std::string& login_session) {
  return sigv4::sha256_hex(login_session) + ".json";
}

credentials login_profile(const aws_config::shared_config& files, const std::string& profile_name,
                          const network_settings& net) {
  const aws_config::section* p = files.find_profile(profile_name);
  login_config cfg;
  cfg.profile = profile_name;
  cfg.who = profile_label(profile_name) + " (login_session)";
  cfg.relogin = profile_name == "default"
                    ? std::string("run `aws login`")
                    : "run `aws login --profile " + util::printable(profile_name) + "`";
  // The SDKs' client region: the variables, then the profile's (which aws login writes).
  cfg.region =
      util::get_env("AWS_REGION")
          .value_or(util::get_env("AWS_DEFAULT_REGION").value_or(p->get("region").value_or("")));
  const std::string session = p->get("login_session").value_or("");
  const std::string path = login_cache_directory() + "/" + login_cache_file_name(session);

  const auto lock = lock_token_caches();
  std::optional<nlohmann::json> doc = read_token_cache(
      path, cfg.who + ": the cached login session",
      "remove it and " + cfg.relogin + " (AWS_LOGIN_CACHE_DIRECTORY moves the cache)");
  if (!doc) {
    throw credentials_error(cfg.who + ": no cached login session at " + util::printable(path) +
                            " for login_session " + util::quoted(session) + "; " + cfg.relogin);
  }
  if (const std::string missing = missing_fields(*doc); !missing.empty()) {
    throw credentials_error(cfg.who + ": the cached login session " + util::printable(path) +
                            " is not valid (no " + missing + "); " + cfg.relogin);
  }
  const auto expires = util::parse_expiration(json_text(doc->at("accessToken"), "expiresAt"));
  if (!expires) {
    throw credentials_error(cfg.who + ": the cached login session " + util::printable(path) +
                            " has an accessToken.expiresAt that is not a valid time; " +
                            cfg.relogin);
  }
  // Another process (the CLI) may have refreshed it already: the file is read every time.
  if (*expires > clock::now() + login_refresh_window)
    return from_cache(*doc, profile_name, *expires);

  clock::time_point refreshed;
  try {
    refreshed = refresh(*doc, cfg, net);
  } catch (const credentials_error&) {
    // Still valid: use them and try again next time, as botocore's advisory refresh does.
    if (*expires > clock::now()) return from_cache(*doc, profile_name, *expires);
    throw;
  }
  write_token_cache(path, *doc, cfg.who + ": the refreshed login session",
                    "check the permissions of the directory, or " + cfg.relogin);
  return from_cache(*doc, profile_name, refreshed);
}

}  // namespace dsql::credential_sources
