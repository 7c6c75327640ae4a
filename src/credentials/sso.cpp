// IAM Identity Center (SSO) profiles: the access token `aws sso login` cached (and refreshed,
// sso_token.cpp), exchanged for role credentials at the SSO portal (GetRoleCredentials).

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "credentials/http_client.hpp"
#include "credentials/json_service.hpp"
#include "credentials/sources.hpp"
#include "dsql/errors.hpp"
#include "sigv4/sigv4.hpp"
#include "util/printable.hpp"
#include "util/time_format.hpp"

namespace dsql::credential_sources {

namespace {

struct sso_config {
  sso_token_config token;
  std::string start_url;
  std::string account_id;
  std::string role_name;
};

sso_config configure(const aws_config::shared_config& files, const std::string& name) {
  const aws_config::section* p = files.find_profile(name);
  const std::string who = profile_label(name) + " (SSO)";
  sso_config cfg;
  cfg.token.who = who;
  auto require = [&](const aws_config::section* s, const char* key, const std::string& where) {
    auto v = s->get(key);
    if (!v) throw credentials_error(who + ": " + where + " has no " + key + "; add it");
    return *v;
  };
  if (auto session = p->get("sso_session")) {
    const aws_config::section* s = files.find_sso_session(*session);
    const std::string section = "[sso-session " + util::printable(*session) + "]";
    if (s == nullptr) {
      throw credentials_error(
          who + ": sso_session = " + util::printable(*session) + ", but there is no " + section +
          " section in " + util::printable(files.config_path) + "; run aws configure sso-session");
    }
    cfg.token.region = require(s, "sso_region", section);
    cfg.start_url = require(s, "sso_start_url", section);
    // The profile may repeat them (the AWS CLI writes both); they must agree (botocore checks).
    for (const char* key : {"sso_region", "sso_start_url"}) {
      auto mine = p->get(key);
      if (mine && *mine != (std::string(key) == "sso_region" ? cfg.token.region : cfg.start_url)) {
        throw credentials_error(who + ": its " + key + " differs from the one in " + section +
                                "; remove it from the profile");
      }
    }
    cfg.token.cache_key = *session;
    cfg.token.session = *session;
    cfg.token.login_hint = "aws sso login --sso-session " + util::printable(*session);
  } else {
    cfg.start_url = require(p, "sso_start_url", "the profile");
    cfg.token.region = require(p, "sso_region", "the profile");
    cfg.token.cache_key = cfg.start_url;
    cfg.token.login_hint = "aws sso login --profile " + util::printable(name);
  }
  cfg.account_id = require(p, "sso_account_id", "the profile");
  cfg.role_name = require(p, "sso_role_name", "the profile");
  for (const char c : cfg.token.region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      throw credentials_error(who + ": sso_region is not a valid AWS region name");
    }
  }
  return cfg;
}

std::string sso_endpoint(const std::string& region) {
  if (auto url = configured_endpoint("AWS_ENDPOINT_URL_SSO")) return *url;
  return "https://portal.sso." + region + ".amazonaws.com";
}

}  // namespace

std::string sso_cache_file_name(const std::string& session_or_start_url) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(session_or_start_url.data(), session_or_start_url.size(), md, &len, EVP_sha1(),
                 nullptr) != 1) {
    throw credentials_error("SSO: SHA-1 is not available from OpenSSL");
  }
  return sigv4::to_hex(md, len) + ".json";
}

credentials sso_profile(const aws_config::shared_config& files, const std::string& profile_name,
                        const network_settings& net) {
  const std::string who = profile_label(profile_name) + " (SSO)";
  const sso_config cfg = configure(files, profile_name);
  const std::string token = sso_access_token(cfg.token, net);

  const std::string url = sso_endpoint(cfg.token.region) + "/federation/credentials?account_id=" +
                          sigv4::uri_encode(cfg.account_id) +
                          "&role_name=" + sigv4::uri_encode(cfg.role_name);
  const json_call call{
      "the SSO portal at " + http::describe_endpoint(url), "AWS_ENDPOINT_URL_SSO", {token}};
  const json_answer a = call_json_service(
      call,
      [&] {
        http::request r = json_request("GET", url, {}, net);
        r.headers.emplace_back("x-amz-sso_bearer_token", token);
        return r;
      },
      net);
  if (!a.failure.empty()) {
    throw credentials_error(who + ": " + unreachable(call, a));
  }
  const std::string& where = call.service;
  const nlohmann::json& doc = a.doc;
  if (a.status != 200) {
    std::string msg = who + ": " + where + " answered HTTP " + std::to_string(a.status);
    if (!a.detail.empty()) msg += " (" + a.detail + ")";
    if (a.status == 401) {
      msg += "; the SSO session is no longer valid: run `" + cfg.token.login_hint + "`";
    } else if (a.status == 403) {
      msg += "; check that you may use role " + util::printable(cfg.role_name) + " in account " +
             util::printable(cfg.account_id) + " (sso_account_id, sso_role_name)";
    } else if (a.status == 404) {
      msg += "; check sso_account_id and sso_role_name";
    } else if (a.status >= 500 || a.status == 429) {
      msg += "; retry later";
    }
    throw credentials_error(msg);
  }
  const nlohmann::json* rc = nullptr;
  if (doc.is_object()) {
    const auto it = doc.find("roleCredentials");
    if (it != doc.end() && it->is_object()) rc = &*it;
  }
  if (rc == nullptr) {
    throw credentials_error(who + ": " + where +
                            " sent no roleCredentials object; check AWS_ENDPOINT_URL_SSO");
  }
  credentials c;
  for (const auto& [key, out] :
       {std::pair<const char*, std::string*>{"accessKeyId", &c.access_key_id},
        {"secretAccessKey", &c.secret_access_key},
        {"sessionToken", &c.session_token}}) {
    const auto it = rc->find(key);
    if (it == rc->end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      throw credentials_error(who + ": " + where + " sent roleCredentials without " + key);
    }
    *out = it->get<std::string>();
  }
  const auto exp = rc->find("expiration");
  if (exp == rc->end() || !exp->is_number_integer()) {
    throw credentials_error(who + ": " + where +
                            " sent roleCredentials without an expiration (epoch milliseconds)");
  }
  // JSON numbers beyond int64 are clamped; seconds are precise enough for an expiration.
  const std::int64_t ms =
      exp->is_number_unsigned()
          ? static_cast<std::int64_t>(std::min<std::uint64_t>(
                exp->get<std::uint64_t>(), static_cast<std::uint64_t>(INT64_MAX)))
          : exp->get<std::int64_t>();
  c.expiration = util::expiration_at(ms / 1000);
  c.source = "sso:" + profile_name;
  return c;
}

}  // namespace dsql::credential_sources
