#pragma once

// The AWS JSON services the credential sources call without SigV4: the SSO portal
// (GetRoleCredentials), SSO-OIDC (CreateToken) and AWS Sign-In (CreateOAuth2Token). One place
// for their endpoint overrides, their transport failures and their error documents, so that
// every source words them alike and redacts the secrets it sent.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "credentials/http_client.hpp"
#include "credentials/sources.hpp"

namespace dsql::credential_sources {

// The endpoint the user configured for a service, as the AWS SDKs read it: the service's own
// variable (AWS_ENDPOINT_URL_SSO_OIDC...), else AWS_ENDPOINT_URL; nullopt when neither is set or
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
std::optional<std::string> configured_endpoint(const char* service_variable);

// A service's answer: the status, the body as JSON (a discarded value when it is not JSON) and,
// for errors, the service's own words.
struct json_answer {
  // Set when no answer arrived (a transport failure, after the retries): what went wrong,
  // escaped, secrets redacted. status is then 0.
  std::string failure;
  long status = 0;
  nlohmann::json doc;
  std::string error_code;  // "error" (OAuth codes such as invalid_grant), else "__type"
  std::string detail;      // "<__type>: <error>: <message>", escaped, secrets redacted
};

struct json_call {
  std::string service;               // "SSO-OIDC CreateToken at https://oidc.x.amazonaws.com:443"
  std::string override_variable;     // "AWS_ENDPOINT_URL_SSO_OIDC", named in the fixes
  std::vector<std::string> secrets;  // what the request carried: redacted from any message
};

// Performs the request (made afresh for each attempt, with the network settings' timeouts and
// retries on transport failures, 5xx and 429) and reads the answer; never throws for what the
// network or the service did.
json_answer call_json_service(const json_call& call, const std::function<http::request()>& make,
                              const network_settings& net);

// "<service> failed: <failure>; check the network (and HTTPS_PROXY), the region, or
// <override_variable>": how a source words json_answer::failure.
std::string unreachable(const json_call& call, const json_answer& answer);

// `base` (an endpoint, perhaps with a trailing '/') followed by `path`.
std::string join_url(std::string base, const std::string& path);

// A request to `url` that sends (when `body` is not empty) and accepts JSON, with the network
// settings' service timeouts.
http::request json_request(const char* method, const std::string& url, std::string body,
                           const network_settings& net);

// A string member of a JSON object, or "" when it is missing or not a string.
std::string json_text(const nlohmann::json& object, const char* key);

// A lifetime in seconds (expiresIn): a positive JSON integer, capped at ten years so that adding
// it to the clock cannot overflow. nullopt for anything else.
std::optional<std::int64_t> lifetime_seconds(const nlohmann::json& object, const char* key);

}  // namespace dsql::credential_sources
