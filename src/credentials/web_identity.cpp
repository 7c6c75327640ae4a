// Web identity (EKS IRSA and other OIDC providers): a JWT from a file, exchanged with STS
// AssumeRoleWithWebIdentity. The call is unsigned: the token is the proof of identity.

#include "credentials/sources.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"
#include "util/read_file.hpp"

namespace dsql::credential_sources {

namespace {

std::string generated_session_name() {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return "dsql-cpp-" + std::to_string(now.count());
}

// Read on every refresh: the kubelet rotates the projected token well before it expires.
std::string read_token(const web_identity_request& req) {
  const std::string fix =
      "check the path and its permissions (on EKS the service account's IRSA annotation mounts "
      "it)";
  const std::string what = req.who + ": the web identity token file";
  std::optional<std::string> text = util::read_file(req.token_file, what, fix);
  if (!text) {
    throw credentials_error(what + " " + util::printable(req.token_file) +
                            " cannot be read: it does not exist; " + fix);
  }
  std::string token = std::move(*text);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) {
    throw credentials_error(req.who + ": the web identity token file " +
                            util::printable(req.token_file) +
                            " is empty; it should hold the OIDC token (a JWT)");
  }
  return token;
}

}  // namespace

credentials assume_role_with_web_identity(const web_identity_request& req,
                                          const network_settings& net,
                                          const std::optional<std::string>& profile_region) {
  if (req.role_arn.empty()) {
    throw credentials_error(req.who +
                            ": a web identity token file is set but no role ARN; set "
                            "AWS_ROLE_ARN (or role_arn in the profile)");
  }
  const std::string token = read_token(req);
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Action", "AssumeRoleWithWebIdentity"},
      {"Version", "2011-06-15"},
      {"RoleArn", req.role_arn},
      {"RoleSessionName", req.session_name.empty() ? generated_session_name() : req.session_name},
      {"WebIdentityToken", token}};
  if (req.duration_seconds) fields.emplace_back("DurationSeconds", *req.duration_seconds);
  credentials c =
      call_sts(resolve_sts_endpoint(profile_region), fields, nullptr, "AssumeRoleWithWebIdentity",
               req.who + " (role " + util::printable(req.role_arn) + ")", net, {token});
  c.source = req.source;
  return c;
}

std::optional<credentials> try_web_identity(const network_settings& net,
                                            const std::optional<std::string>& profile_region) {
  const auto token_file = util::get_env("AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!token_file) return std::nullopt;
  web_identity_request req;
  req.token_file = *token_file;
  req.role_arn = util::get_env("AWS_ROLE_ARN").value_or("");
  req.session_name = util::get_env("AWS_ROLE_SESSION_NAME").value_or("");
  req.who = "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)";
  req.source = "web-identity:" + req.role_arn;
  return assume_role_with_web_identity(req, net, profile_region);
}

}  // namespace dsql::credential_sources
