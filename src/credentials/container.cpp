// Container credentials: ECS task roles (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, served by the
// ECS agent at 169.254.170.2) and EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI plus an
// authorization token file that the kubelet rotates).

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

#include "credentials/http_client.hpp"
#include "credentials/sources.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"
#include "util/read_file.hpp"

namespace dsql::credential_sources {

namespace {

constexpr const char* who_prefix = "container credentials";

bool allowed_v4(const in_addr& a) {
  const std::uint32_t ip = ntohl(a.s_addr);
  if ((ip >> 24) == 127) return true;  // loopback 127.0.0.0/8
  if (ip == 0xA9FEAA02u) return true;  // 169.254.170.2, ECS
  return ip == 0xA9FEAA17u;            // 169.254.170.23, EKS Pod Identity
}

bool allowed_v6(const in6_addr& a) {
  static const std::array<unsigned char, 16> eks = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
                                                    0,    0,    0,    0,    0, 0, 0, 0x23};
  if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    in_addr v4{};
    std::memcpy(&v4.s_addr, a.s6_addr + 12, 4);
    return allowed_v4(v4);
  }
  return std::memcmp(a.s6_addr, eks.data(), 16) == 0;
}

[[noreturn]] void disallowed(const std::string& host, const std::string& why) {
  throw credentials_error(
      std::string(who_prefix) + ": AWS_CONTAINER_CREDENTIALS_FULL_URI points at host " +
      util::quoted(host) + ", " + why +
      ". Over http only loopback addresses, 169.254.170.2 (ECS) and 169.254.170.23 or "
      "fd00:ec2::23 (EKS Pod Identity) are allowed; use https for any other host");
}

std::string read_token_file(const std::string& path) {
  const std::string fix =
      "check the path (EKS Pod Identity mounts it into the pod) and its permissions";
  std::optional<std::string> text =
      util::read_file(path,
                      std::string(who_prefix) +
                          ": the authorization token file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)",
                      fix);
  if (!text) {
    throw credentials_error(
        std::string(who_prefix) + ": AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names " +
        util::printable(path) + ", which cannot be read: it does not exist; " + fix);
  }
  std::string token = std::move(*text);
  if (token.empty()) {
    throw credentials_error(std::string(who_prefix) + ": the authorization token file " +
                            util::printable(path) +
                            " (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) is empty");
  }
  return token;
}

// The token in effect for this fetch: the file wins and is read every time (EKS rotates it).
std::optional<std::string> authorization_token() {
  std::optional<std::string> token;
  std::string from;
  if (auto file = util::get_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    token = read_token_file(*file);
    from = "the file " + util::printable(*file) + " (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)";
  } else if (auto value = util::get_env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    token = std::move(value);
    from = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
  }
  // A line break would let the value inject headers into the request (botocore refuses it too).
  if (token && token->find_first_of("\r\n") != std::string::npos) {
    throw credentials_error(std::string(who_prefix) + ": the authorization token from " + from +
                            " contains a line break (CR or LF), which is not allowed in an "
                            "HTTP header; remove it");
  }
  return token;
}

std::string error_detail(const std::string& body) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object()) return {};
  std::string out;
  for (const char* key : {"code", "Code", "message", "Message"}) {
    const auto it = doc.find(key);
    if (it != doc.end() && it->is_string()) {
      out += (out.empty() ? "" : ": ") +
             util::printable(it->get<std::string>(), 200, util::whitespace::collapse);
    }
  }
  return out;
}

}  // namespace

void check_container_uri(const std::string& url) {
  http::url_parts parts;
  try {
    parts = http::parse_url(url);
  } catch (const config_error&) {
    throw credentials_error(std::string(who_prefix) +
                            ": AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
  }
  if (parts.scheme == "https") return;
  if (parts.host == "localhost") return;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, parts.host.c_str(), &v4) == 1) {
    if (!allowed_v4(v4)) disallowed(parts.host, "which is not an allowed address");
    return;
  }
  if (inet_pton(AF_INET6, parts.host.c_str(), &v6) == 1) {
    if (!allowed_v6(v6)) disallowed(parts.host, "which is not an allowed address");
    return;
  }
  // A name: every address it resolves to must be allowed, as aws-c-auth and the Rust SDK check.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(parts.host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    disallowed(parts.host, "which does not resolve");
  }
  bool ok = true;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      ok = ok && allowed_v4(reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr);
    } else if (a->ai_family == AF_INET6) {
      ok = ok && allowed_v6(reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr);
    } else {
      ok = false;
    }
  }
  freeaddrinfo(found);
  if (!ok) disallowed(parts.host, "which resolves to an address that is not allowed");
}

bool container_configured() {
  return util::get_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").has_value() ||
         util::get_env("AWS_CONTAINER_CREDENTIALS_FULL_URI").has_value();
}

credentials fetch_container(const network_settings& net) {
  http::request r;
  r.use_proxy = false;
  r.connect_timeout = net.container_timeout;
  r.timeout = net.container_timeout;
  r.headers.emplace_back("Accept", "application/json");
  std::string variable;
  if (auto relative = util::get_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    // RELATIVE wins: ECS sets it, and it can only reach the ECS agent.
    variable = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
    if (relative->front() != '/') relative->insert(0, "/");
    r.url = net.container_relative_base + *relative;
  } else if (auto full = util::get_env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    variable = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    check_container_uri(*full);
    r.url = *full;
    // As botocore: the token is for the FULL_URI endpoint only.
    if (auto token = authorization_token()) r.headers.emplace_back("Authorization", *token);
  } else {
    throw credentials_error(std::string(who_prefix) +
                            ": neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                            "AWS_CONTAINER_CREDENTIALS_FULL_URI is set; they are set by ECS "
                            "(task role) and EKS (Pod Identity) inside the container");
  }
  const std::string who =
      std::string(who_prefix) + " from " + http::describe_endpoint(r.url) + " (" + variable + ")";

  http::response resp;
  try {
    resp = http::perform_with_retries(r, net.container_attempts, net.retry_delay);
  } catch (const http::transport_error& e) {
    throw credentials_error(who + ": " + e.what() +
                            "; the ECS agent or EKS Pod Identity agent that serves this URI is "
                            "not answering. Outside ECS/EKS unset " +
                            variable);
  } catch (const config_error&) {
    throw credentials_error(who + ": the URI is not a valid URL; check " + variable);
  }
  if (resp.status == 200) return parse_metadata_credentials(resp.body, who, "container");

  std::string msg = who + " answered HTTP " + std::to_string(resp.status);
  if (const std::string detail = error_detail(resp.body); !detail.empty()) {
    msg += " (" + detail + ")";
  }
  if (resp.status == 401 || resp.status == 403) {
    msg +=
        "; the authorization token was refused: check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
        "(or AWS_CONTAINER_AUTHORIZATION_TOKEN) and the pod's identity association";
  } else if (resp.status == 404) {
    msg +=
        "; no credentials at this URI: check the task role (ECS) or the Pod Identity "
        "association (EKS)";
  } else if (resp.status >= 500 || resp.status == 429) {
    msg += "; retry later";
  }
  throw credentials_error(msg);
}

std::optional<credentials> try_container(const network_settings& net) {
  if (!container_configured()) return std::nullopt;
  return fetch_container(net);
}

}  // namespace dsql::credential_sources
