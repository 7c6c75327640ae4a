// EC2 instance metadata credentials (IMDSv2), as the AWS SDKs fetch them:
// PUT /latest/api/token, GET .../security-credentials/ (the role), GET .../<role> (the JSON).

#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

#include "credentials/http_client.hpp"
#include "credentials/sources.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"
#include "util/time_format.hpp"

namespace dsql::credential_sources {

namespace {

constexpr const char* token_path = "/latest/api/token";
constexpr const char* roles_path = "/latest/meta-data/iam/security-credentials/";
// Six hours, as every AWS SDK asks; one resolve uses the token for seconds.
constexpr const char* token_ttl_seconds = "21600";

bool is_true(const std::optional<std::string>& v) {
  if (!v) return false;
  std::string s = *v;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s == "true";
}

std::optional<std::string> setting(const char* env, const aws_config::section* profile,
                                   const char* key) {
  if (auto v = util::get_env(env)) return v;
  if (profile != nullptr) return profile->get(key);
  return std::nullopt;
}

struct imds_config {
  std::string endpoint;  // no trailing slash
  bool v1_disabled = false;
};

imds_config configure(const aws_config::section* profile) {
  imds_config cfg;
  cfg.v1_disabled =
      is_true(setting("AWS_EC2_METADATA_V1_DISABLED", profile, "ec2_metadata_v1_disabled"));
  if (auto endpoint =
          setting("AWS_EC2_METADATA_SERVICE_ENDPOINT", profile, "ec2_metadata_service_endpoint")) {
    cfg.endpoint = *endpoint;
    while (!cfg.endpoint.empty() && cfg.endpoint.back() == '/') cfg.endpoint.pop_back();
    try {
      http::parse_url(cfg.endpoint);
    } catch (const config_error&) {
      throw credentials_error(
          "EC2 instance metadata: AWS_EC2_METADATA_SERVICE_ENDPOINT (or the profile's "
          "ec2_metadata_service_endpoint) is not an http(s) URL; use e.g. "
          "http://169.254.169.254 or http://[fd00:ec2::254]");
    }
    return cfg;
  }
  std::string mode = setting("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", profile,
                             "ec2_metadata_service_endpoint_mode")
                         .value_or("IPv4");
  for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (mode == "ipv4") {
    cfg.endpoint = "http://169.254.169.254";
  } else if (mode == "ipv6") {
    cfg.endpoint = "http://[fd00:ec2::254]";
  } else {
    throw credentials_error(
        "EC2 instance metadata: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE (or the profile's "
        "ec2_metadata_service_endpoint_mode) must be IPv4 or IPv6");
  }
  return cfg;
}

class imds_client {
 public:
  imds_client(const network_settings& net, imds_config cfg) : net_(net), cfg_(std::move(cfg)) {
    who_ = "EC2 instance metadata (IMDS) at " + http::describe_endpoint(cfg_.endpoint);
  }

  credentials fetch() {
    fetch_token();
    const std::string role = fetch_role();
    const std::string what = "the credentials of role " + util::quoted(role);
    const http::response resp = get(roles_path + role, what);
    if (resp.status == 404) {
      throw credentials_error(who_ + " has no credentials for role " + util::quoted(role) +
                              " (HTTP 404); the instance profile may have just changed: retry, "
                              "or check the role attached to the instance");
    }
    expect_ok(resp, what);
    return parse_imds_credentials(resp.body, role);
  }

 private:
  http::request make(const std::string& method, const std::string& path) const {
    http::request r;
    r.method = method;
    r.url = cfg_.endpoint + path;
    r.connect_timeout = net_.imds_timeout;
    r.timeout = net_.imds_timeout;
    r.use_proxy = false;
    return r;
  }

  http::response send(const http::request& r) const {
    try {
      return http::perform_with_retries(r, net_.imds_attempts, net_.retry_delay);
    } catch (const http::transport_error& e) {
      if (e.kind() == http::failure::connect) {
        throw source_unavailable(who_ + " is not reachable (" + e.what() +
                                 "); this is expected off EC2. Set AWS_EC2_METADATA_DISABLED=true "
                                 "to skip it, or configure another credential source");
      }
      if (e.kind() == http::failure::timeout) {
        throw source_unavailable(
            who_ + " did not answer (" + e.what() +
            "). Off EC2 set AWS_EC2_METADATA_DISABLED=true; in a container on EC2 the "
            "instance's metadata hop limit may be too low (aws ec2 modify-instance-metadata-"
            "options --http-put-response-hop-limit 2); AWS_METADATA_SERVICE_TIMEOUT raises the "
            "timeout");
      }
      throw credentials_error(who_ + ": " + e.what());
    }
  }

  void fetch_token() {
    http::request r = make("PUT", token_path);
    r.headers.emplace_back("x-aws-ec2-metadata-token-ttl-seconds", token_ttl_seconds);
    const http::response resp = send(r);
    if (resp.status == 200 && !resp.body.empty()) {
      token_ = resp.body;
      return;
    }
    // AWS's rule (sdkref, IMDS credential provider): only these mean "no IMDSv2 here".
    if (resp.status == 403 || resp.status == 404 || resp.status == 405) {
      if (cfg_.v1_disabled) {
        throw credentials_error(
            who_ + " refused the IMDSv2 token request (HTTP " + std::to_string(resp.status) +
            ") and IMDSv1 fallback is disabled (AWS_EC2_METADATA_V1_DISABLED or "
            "ec2_metadata_v1_disabled); enable IMDSv2 on the instance (aws ec2 "
            "modify-instance-metadata-options --http-tokens required) or allow the fallback");
      }
      token_.clear();
      return;
    }
    if (resp.status == 200) throw credentials_error(who_ + " sent an empty IMDSv2 token");
    throw credentials_error(
        who_ + " answered HTTP " + std::to_string(resp.status) +
        " to the IMDSv2 token request (PUT " + token_path + ")" +
        (resp.status == 400 ? "; check AWS_EC2_METADATA_SERVICE_ENDPOINT" : "; retry later"));
  }

  http::response get(const std::string& path, const std::string& what) {
    for (int round = 0;; ++round) {
      http::request r = make("GET", path);
      if (!token_.empty()) r.headers.emplace_back("x-aws-ec2-metadata-token", token_);
      http::response resp = send(r);
      // An expired or rejected token: fetch a new one once, as aws-c-auth does.
      if (resp.status == 401 && round == 0) {
        fetch_token();
        continue;
      }
      if (resp.status == 401) {
        throw credentials_error(who_ + " refused the request for " + what +
                                " (HTTP 401) even with a fresh IMDSv2 token" +
                                (token_.empty() ? " (IMDSv1 was used: the instance requires "
                                                  "IMDSv2 but refused the token request)"
                                                : ""));
      }
      return resp;
    }
  }

  void expect_ok(const http::response& resp, const std::string& what) const {
    if (resp.status == 200) return;
    throw credentials_error(who_ + " answered HTTP " + std::to_string(resp.status) +
                            " to the request for " + what +
                            (resp.status >= 500 ? "; retry later" : ""));
  }

  std::string fetch_role() {
    const http::response resp = get(roles_path, "the role name");
    if (resp.status == 404) {
      throw source_unavailable(who_ +
                               " has no IAM role for this instance (HTTP 404); attach an "
                               "instance profile with a role, or configure another source");
    }
    expect_ok(resp, "the role name");
    std::string role = resp.body.substr(0, resp.body.find('\n'));
    while (!role.empty() && (role.back() == '\r' || role.back() == ' ')) role.pop_back();
    if (role.empty()) {
      throw source_unavailable(who_ +
                               " lists no IAM role for this instance; attach an "
                               "instance profile with a role, or configure another source");
    }
    // Role names are [\w+=,.@-]; anything else would change the path we request.
    for (const char ch : role) {
      const auto c = static_cast<unsigned char>(ch);
      if (!(std::isalnum(c) || std::string_view("+=,.@_-").find(ch) != std::string_view::npos)) {
        throw credentials_error(who_ + " sent a role name that is not a valid IAM role name");
      }
    }
    return role;
  }

  const network_settings& net_;
  imds_config cfg_;
  std::string who_;
  std::string token_;  // empty: IMDSv1
};

}  // namespace

credentials parse_metadata_credentials(const std::string& json_text, const std::string& who,
                                       const std::string& source) {
  const auto doc = nlohmann::json::parse(json_text, nullptr, false);
  if (!doc.is_object()) {
    throw credentials_error(who +
                            " sent credentials that are not a JSON object; the endpoint is "
                            "not answering as AWS documents (check its URL)");
  }
  auto text = [&](const char* key) -> std::optional<std::string> {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  if (auto code = text("Code"); code && *code != "Success") {
    throw credentials_error(who + " reported Code " + util::quoted(*code) +
                            " instead of Success; check the role and its trust policy, or retry");
  }
  credentials c;
  for (const auto& [key, out] :
       {std::pair<const char*, std::string*>{"AccessKeyId", &c.access_key_id},
        {"SecretAccessKey", &c.secret_access_key},
        {"Token", &c.session_token}}) {
    auto v = text(key);
    if (!v) {
      throw credentials_error(who + " sent credentials without a string " + key +
                              "; the endpoint is not answering as AWS documents");
    }
    *out = std::move(*v);
  }
  const auto expiration = text("Expiration");
  if (!expiration) {
    throw credentials_error(who +
                            " sent credentials without Expiration; the endpoint is not "
                            "answering as AWS documents");
  }
  c.expiration = util::parse_expiration(*expiration);
  if (!c.expiration) {
    throw credentials_error(who + " sent an Expiration that is not an ISO 8601 time");
  }
  c.source = source;
  return c;
}

credentials parse_imds_credentials(const std::string& json_text, const std::string& role) {
  return parse_metadata_credentials(
      json_text, "EC2 instance metadata (IMDS) for role " + util::quoted(role), "imds:" + role);
}

credentials fetch_imds(const network_settings& net, const aws_config::section* profile) {
  return imds_client(net, configure(profile)).fetch();
}

std::optional<credentials> try_imds(const network_settings& net, const aws_config::section* profile,
                                    std::string& note) {
  if (is_true(util::get_env("AWS_EC2_METADATA_DISABLED"))) {
    note = "EC2 instance metadata (skipped: AWS_EC2_METADATA_DISABLED=true)";
    return std::nullopt;
  }
  try {
    return fetch_imds(net, profile);
  } catch (const source_unavailable& e) {
    note = e.what();
    return std::nullopt;
  }
}

}  // namespace dsql::credential_sources
