// Assume-role profiles (role_arn with source_profile, credential_source or
// web_identity_token_file) and the STS Query API calls they and web identity make.

#include <pugixml.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "credentials/http_client.hpp"
#include "credentials/json_service.hpp"
#include "credentials/sources.hpp"
#include "dsql/endpoint.hpp"
#include "dsql/errors.hpp"
#include "sigv4/request_signer.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"
#include "util/time_format.hpp"

namespace dsql::credential_sources {

namespace {

constexpr const char* sts_version = "2011-06-15";

// Children by local name: STS documents carry a default namespace, some proxies add prefixes.
pugi::xml_node child(const pugi::xml_node& n, const char* local) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const char* name = c.name();
    if (const char* colon = std::strchr(name, ':')) name = colon + 1;
    if (std::strcmp(name, local) == 0) return c;
  }
  return {};
}

std::string text_of(const pugi::xml_node& n) {
  std::string s = n.child_value();
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string hint_for(const std::string& code, const std::string& action) {
  if (code == "AccessDenied") {
    return action == "AssumeRoleWithWebIdentity"
               ? "check the role's trust policy allows this OIDC provider and subject "
                 "(sts:AssumeRoleWithWebIdentity)"
               : "check the role's trust policy allows the base identity, and that the base "
                 "identity may call sts:AssumeRole on the role";
  }
  if (code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" ||
      code == "UnrecognizedClientException") {
    return "the base credentials used to call STS are invalid or expired; renew them";
  }
  if (code == "InvalidIdentityToken" || code == "ExpiredTokenException" ||
      code == "IDPRejectedClaim" || code == "IDPCommunicationError") {
    return "the web identity token was rejected; check the token file is current and the OIDC "
           "provider is registered in IAM";
  }
  if (code == "ValidationError" || code == "MalformedPolicyDocument") {
    return "check role_arn, role_session_name and duration_seconds";
  }
  if (code == "RegionDisabledException") {
    return "STS is not activated in this region; activate it in IAM or use another region";
  }
  if (code == "Throttling" || code == "ServiceUnavailable" || code == "InternalFailure") {
    return "retry later";
  }
  return "check the role configuration";
}

std::string host_header(const http::url_parts& p) {
  std::string host = p.host.find(':') != std::string::npos ? "[" + p.host + "]" : p.host;
  const bool default_port =
      (p.scheme == "https" && p.port == "443") || (p.scheme == "http" && p.port == "80");
  if (!default_port && !p.port.empty()) host += ":" + p.port;
  return host;
}

}  // namespace

sts_endpoint resolve_sts_endpoint(const std::optional<std::string>& profile_region) {
  std::optional<std::string> region = util::get_env("AWS_REGION");
  if (!region) region = util::get_env("AWS_DEFAULT_REGION");
  if (!region) region = profile_region;
  if (region && !is_region_name(*region)) {
    throw credentials_error("STS: the region " + util::quoted(*region) +
                            " is not a valid AWS region name; check AWS_REGION, "
                            "AWS_DEFAULT_REGION and the profile's region");
  }
  sts_endpoint ep;
  ep.region = region.value_or("us-east-1");
  if (auto url = configured_endpoint("AWS_ENDPOINT_URL_STS")) {
    ep.url = *url;
    return ep;
  }
  if (!region) {
    // botocore's choice for an STS client without a region: the global endpoint.
    ep.url = "https://sts.amazonaws.com";
  } else if (region->rfind("cn-", 0) == 0) {
    ep.url = "https://sts." + *region + ".amazonaws.com.cn";
  } else {
    ep.url = "https://sts." + *region + ".amazonaws.com";
  }
  return ep;
}

credentials parse_sts_response(const std::string& xml, long http_status, const std::string& action,
                               const std::string& who, const std::vector<std::string>& secrets) {
  const std::string status = "HTTP " + std::to_string(http_status);
  // pugixml never fetches external entities and does not expand DOCTYPE ones: no XXE.
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size()) || !doc.document_element()) {
    throw credentials_error(who + ": STS " + action + " answered " + status +
                            " with a body that is not XML; check AWS_ENDPOINT_URL_STS / "
                            "AWS_ENDPOINT_URL and any proxy in between");
  }
  const pugi::xml_node root = doc.document_element();
  pugi::xml_node error = child(root, "Error");
  if (!error && std::strcmp(root.name(), "Error") == 0) error = root;
  if (error || http_status != 200) {
    const std::string code = util::printable(text_of(child(error, "Code")), 80);
    const std::string message = util::printable(redact(text_of(child(error, "Message")), secrets),
                                                300, util::whitespace::collapse);
    std::string msg = who + ": STS " + action + " failed (" + status;
    if (!code.empty()) msg += " " + code;
    if (!message.empty()) msg += ": " + message;
    msg += "); " + (code.empty() ? std::string(http_status >= 500 ? "retry later"
                                                                  : "check the role configuration")
                                 : hint_for(code, action));
    throw credentials_error(msg);
  }
  const pugi::xml_node creds = child(child(root, (action + "Result").c_str()), "Credentials");
  const std::string root_name = root.name();
  if (!creds || root_name.find(action + "Response") == std::string::npos) {
    throw credentials_error(who + ": STS " + action + " answered " + status +
                            " with XML that is not an " + action +
                            " response; check AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL");
  }
  credentials c;
  for (const auto& [key, out] :
       {std::pair<const char*, std::string*>{"AccessKeyId", &c.access_key_id},
        {"SecretAccessKey", &c.secret_access_key},
        {"SessionToken", &c.session_token}}) {
    *out = text_of(child(creds, key));
    if (out->empty()) {
      throw credentials_error(who + ": STS " + action + " response has no " + key);
    }
  }
  c.expiration = util::parse_expiration(text_of(child(creds, "Expiration")));
  if (!c.expiration) {
    throw credentials_error(who + ": STS " + action +
                            " response has no valid Expiration (ISO 8601 time)");
  }
  return c;
}

credentials call_sts(const sts_endpoint& endpoint,
                     const std::vector<std::pair<std::string, std::string>>& fields,
                     const credentials* sign_with, const std::string& action,
                     const std::string& who, const network_settings& net,
                     const std::vector<std::string>& secrets) {
  http::url_parts parts;
  try {
    parts = http::parse_url(endpoint.url);
  } catch (const config_error&) {
    throw credentials_error(who +
                            ": the STS endpoint is not an http(s) URL; check "
                            "AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL");
  }
  http::request r;
  r.method = "POST";
  r.url = endpoint.url;
  r.connect_timeout = net.service_connect_timeout;
  r.timeout = net.service_timeout;
  r.body = http::form_encode(fields);
  const std::string content_type = "application/x-www-form-urlencoded; charset=utf-8";
  const std::string host = host_header(parts);
  r.headers.emplace_back("Host", host);
  r.headers.emplace_back("Content-Type", content_type);
  if (sign_with != nullptr) {
    sigv4::request_to_sign req;
    req.host = host;
    req.path = parts.path.empty() ? "/" : parts.path;
    req.headers.emplace_back("content-type", content_type);
    req.body = r.body;
    const sigv4::signed_request s = sigv4::sign_request(
        req, {sign_with->access_key_id, sign_with->secret_access_key, sign_with->session_token},
        endpoint.region, "sts", std::chrono::system_clock::now());
    for (const auto& h : s.headers) r.headers.push_back(h);
  }
  const std::string where = "STS " + action + " at " + http::describe_endpoint(endpoint.url);
  http::response resp;
  try {
    resp = http::perform_with_retries(r, net.service_attempts, net.retry_delay);
  } catch (const http::transport_error& e) {
    throw credentials_error(who + ": " + where + " failed: " + redact(e.what(), secrets) +
                            "; check the network (and HTTPS_PROXY), the region, or "
                            "AWS_ENDPOINT_URL_STS");
  }
  return parse_sts_response(resp.body, resp.status, action, who, secrets);
}

namespace {

bool has_static_keys(const aws_config::section& p) {
  return p.get("aws_access_key_id") && p.get("aws_secret_access_key");
}

std::string generated_session_name() {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return "dsql-cpp-" + std::to_string(now.count());
}

class role_resolver {
 public:
  role_resolver(const aws_config::shared_config& files, const network_settings& net,
                std::chrono::milliseconds process_timeout)
      : files_(files), net_(net), process_timeout_(process_timeout) {}

  credentials resolve(const std::string& name) {
    visited_.push_back(name);
    const aws_config::section* p = files_.find_profile(name);
    const std::string who = profile_label(name);
    if (p == nullptr) throw credentials_error(who + " not found");
    const std::string role_arn = p->get("role_arn").value_or("");
    const auto source_profile = p->get("source_profile");
    const auto credential_source = p->get("credential_source");
    const auto token_file = p->get("web_identity_token_file");

    if (source_profile && credential_source) {
      throw credentials_error(who +
                              " has both source_profile and credential_source; keep the "
                              "one that supplies the credentials to assume " +
                              util::printable(role_arn) + " with");
    }
    if (p->get("mfa_serial")) {
      throw credentials_error(who +
                              " has mfa_serial: assuming a role with an MFA code needs a "
                              "prompt, which the DSQL connector does not do; use a profile "
                              "without mfa_serial, or get session credentials first (aws sts "
                              "get-session-token) and put them in a profile");
    }
    if (!source_profile && !credential_source) {
      if (token_file) {
        web_identity_request req;
        req.token_file = *token_file;
        req.role_arn = role_arn;
        req.session_name = p->get("role_session_name").value_or("");
        req.duration_seconds = p->get("duration_seconds");
        req.who = who + " (web_identity_token_file)";
        req.source = "web-identity:" + name;
        return assume_role_with_web_identity(req, net_, p->get("region"));
      }
      throw credentials_error(who +
                              " has role_arn but no source_profile, credential_source or "
                              "web_identity_token_file; add one to say which credentials "
                              "assume the role");
    }

    const credentials base = credential_source
                                 ? from_credential_source(name, *p, *credential_source)
                                 : from_source_profile(name, *source_profile);
    return assume(name, *p, role_arn, base);
  }

 private:
  credentials from_credential_source(const std::string& name, const aws_config::section& p,
                                     const std::string& kind) {
    const std::string who =
        profile_label(name) + " (credential_source = " + util::printable(kind) + ")";
    try {
      if (kind == "Environment") {
        if (auto c = try_environment()) return *c;
        throw credentials_error("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
      }
      if (kind == "Ec2InstanceMetadata") return fetch_imds(net_, &p);
      if (kind == "EcsContainer") return fetch_container(net_);
    } catch (const credentials_error& e) {
      throw credentials_error(who + ": " + e.what());
    }
    throw credentials_error(profile_label(name) + " has credential_source = " + util::quoted(kind) +
                            "; use Environment, Ec2InstanceMetadata or EcsContainer");
  }

  credentials from_source_profile(const std::string& parent, const std::string& source) {
    const aws_config::section* sp = files_.find_profile(source);
    if (sp == nullptr) {
      throw credentials_error(
          profile_label(parent) + " has source_profile = " + util::printable(source) +
          ", but profile " + util::quoted(source) + " was not found in " +
          util::printable(files_.config_path) + " or " + util::printable(files_.credentials_path));
    }
    if (std::find(visited_.begin(), visited_.end(), source) != visited_.end()) {
      // botocore's one exception: a profile may name itself when its own keys are the base.
      if (!(source == parent && has_static_keys(*sp))) {
        std::string loop;
        for (const auto& v : visited_) loop += util::printable(v) + " -> ";
        throw credentials_error("AWS profiles form a source_profile cycle: " + loop +
                                util::printable(source) +
                                "; point one of them at a profile with credentials (static "
                                "keys, credential_process, SSO) or use credential_source");
      }
    }
    // botocore: static keys end the chain even when the source profile has its own role_arn.
    if (has_static_keys(*sp) || !sp->get("role_arn")) {
      if (auto c = try_profile_without_role(files_, source, process_timeout_, net_)) return *c;
      throw credentials_error(profile_label(parent) + " has source_profile = " +
                              util::printable(source) + ", but profile " + util::quoted(source) +
                              " has no credentials (static keys, login_session, "
                              "credential_process, SSO or its own role_arn)");
    }
    return resolve(source);
  }

  credentials assume(const std::string& name, const aws_config::section& p,
                     const std::string& role_arn, const credentials& base) {
    const std::string who =
        profile_label(name) + " (assume role " + util::printable(role_arn) + ")";
    std::vector<std::pair<std::string, std::string>> fields = {
        {"Action", "AssumeRole"},
        {"Version", sts_version},
        {"RoleArn", role_arn},
        {"RoleSessionName", p.get("role_session_name").value_or(generated_session_name())}};
    if (auto d = p.get("duration_seconds")) fields.emplace_back("DurationSeconds", *d);
    if (auto x = p.get("external_id")) fields.emplace_back("ExternalId", *x);
    const sts_endpoint ep = resolve_sts_endpoint(p.get("region"));
    credentials c = call_sts(ep, fields, &base, "AssumeRole", who, net_,
                             {base.secret_access_key, base.session_token});
    c.source = "assume-role:" + name + " (base: " + base.source + ")";
    return c;
  }

  const aws_config::shared_config& files_;
  const network_settings& net_;
  std::chrono::milliseconds process_timeout_;
  std::vector<std::string> visited_;
};

}  // namespace

credentials assume_role_profile(const aws_config::shared_config& files,
                                const std::string& profile_name, const network_settings& net,
                                std::chrono::milliseconds process_timeout) {
  return role_resolver(files, net, process_timeout).resolve(profile_name);
}

}  // namespace dsql::credential_sources
