#include "credentials/json_service.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"

namespace dsql::credential_sources {

std::optional<std::string> configured_endpoint(const char* service_variable) {
  std::string ignore = util::get_env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").value_or("");
  for (char& c : ignore) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ignore == "true") return std::nullopt;
  if (auto url = util::get_env(service_variable)) return url;
  return util::get_env("AWS_ENDPOINT_URL");
}

std::string join_url(std::string base, const std::string& path) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + path;
}

http::request json_request(const char* method, const std::string& url, std::string body,
                           const network_settings& net) {
  http::request r;
  r.method = method;
  r.url = url;
  if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Accept", "application/json");
  r.body = std::move(body);
  r.connect_timeout = net.service_connect_timeout;
  r.timeout = net.service_timeout;
  return r;
}

std::string unreachable(const json_call& call, const json_answer& answer) {
  return call.service + " failed: " + answer.failure + "; check the network (and HTTPS_PROXY), " +
         "the region, or " + call.override_variable;
}

std::optional<std::int64_t> lifetime_seconds(const nlohmann::json& object, const char* key) {
  constexpr std::int64_t ten_years = std::int64_t{10} * 366 * 24 * 3600;
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    if (u == 0) return std::nullopt;
    return static_cast<std::int64_t>(std::min<std::uint64_t>(u, ten_years));
  }
  const std::int64_t v = it->get<std::int64_t>();
  if (v <= 0) return std::nullopt;
  return std::min(v, ten_years);
}

std::string json_text(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json_answer call_json_service(const json_call& call, const std::function<http::request()>& make,
                              const network_settings& net) {
  http::response resp;
  json_answer a;
  try {
    resp = http::perform_with_retries(make, net.service_attempts, net.retry_delay);
  } catch (const http::transport_error& e) {
    a.failure = redact(e.what(), call.secrets);
    return a;
  }
  a.status = resp.status;
  a.doc = nlohmann::json::parse(resp.body, nullptr, false);
  if (resp.status == 200) return a;
  // rest-json errors: "__type" (or x-amzn-ErrorType) names the exception; OAuth services add
  // "error" (invalid_grant, TOKEN_EXPIRED...) and "error_description" or "message".
  std::string type = json_text(a.doc, "__type");
  if (type.empty()) {
    // rest-json's other place for it: "InvalidGrantException[:extra]".
    const auto h = resp.headers.find("x-amzn-errortype");
    if (h != resp.headers.end()) type = h->second.substr(0, h->second.find(':'));
  }
  if (const auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  a.error_code = util::printable(json_text(a.doc, "error"), 80);
  if (a.error_code.empty()) a.error_code = util::printable(type, 80);
  for (const std::string& part :
       {type, json_text(a.doc, "error"), json_text(a.doc, "error_description"),
        json_text(a.doc, "message"), json_text(a.doc, "Message")}) {
    if (part.empty()) continue;
    a.detail += (a.detail.empty() ? "" : ": ") +
                util::printable(redact(part, call.secrets), 300, util::whitespace::collapse);
  }
  return a;
}

}  // namespace dsql::credential_sources
