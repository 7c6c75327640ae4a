#include "support/fake_sso_oidc_service.hpp"

#include <nlohmann/json.hpp>

namespace dsql::test {

namespace {

using json = nlohmann::json;

scripted_response oauth_error(int status, const std::string& type, const std::string& code,
                              const std::string& description) {
  return {status,
          json{{"error", code}, {"error_description", description}}.dump(),
          {{"Content-Type", "application/json"}, {"x-amzn-ErrorType", type}}};
}

}  // namespace

fake_sso_oidc_service::fake_sso_oidc_service(fake_aws_server& server, settings s)
    : s_(std::move(s)) {
  server.on("POST", "/token", [this](const recorded_request& req) { return answer(req); });
}

int fake_sso_oidc_service::refreshes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refreshes_;
}

std::vector<std::string> fake_sso_oidc_service::problems() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return problems_;
}

scripted_response fake_sso_oidc_service::answer(const recorded_request& req) {
  std::lock_guard<std::mutex> lock(mutex_);
  const json body = json::parse(req.body, nullptr, false);
  if (req.header("authorization") ||
      req.header("content-type").value_or("").rfind("application/json", 0) != 0 ||
      !body.is_object() || body.value("grantType", "") != "refresh_token") {
    problems_.push_back("not an unsigned JSON CreateToken with grantType refresh_token");
    return oauth_error(400, "InvalidRequestException", "invalid_request", "Invalid request");
  }
  if (body.value("clientId", "") != s_.client_id ||
      body.value("clientSecret", "") != s_.client_secret) {
    return oauth_error(401, "InvalidClientException", "invalid_client",
                       "Client authentication failed");
  }
  if (body.value("refreshToken", "") != s_.refresh_token) {
    return oauth_error(400, "InvalidGrantException", "invalid_grant", "Invalid grant provided");
  }
  ++refreshes_;
  json out = {
      {"accessToken", s_.access_token}, {"tokenType", "Bearer"}, {"expiresIn", s_.expires_in}};
  if (!s_.next_refresh_token.empty()) {
    out["refreshToken"] = s_.next_refresh_token;
    s_.refresh_token = s_.next_refresh_token;
  }
  return {200, out.dump(), {{"Content-Type", "application/json"}}};
}

}  // namespace dsql::test
