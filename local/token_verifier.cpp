#include "local/token_verifier.hpp"

#include "util/printable.hpp"

#include <cctype>
#include <cstdint>
#include <map>
#include <optional>

#include "sigv4/sigv4.hpp"

namespace dsql::local {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

verify_result refuse(std::string reason, std::string hint = {}) {
  verify_result r;
  r.reason = std::move(reason);
  r.hint = std::move(hint);
  return r;
}

std::optional<std::int64_t> parse_seconds(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

struct parsed_token {
  std::string host;
  // Decoded name -> decoded value; duplicates are refused while parsing.
  std::map<std::string, std::string> params;
};

std::optional<parsed_token> parse(std::string_view token, std::string& why) {
  if (token.find("://") != std::string_view::npos) {
    why = "token has a URL scheme";
    return std::nullopt;
  }
  const std::size_t sep = token.find("/?");
  if (sep == std::string_view::npos || sep == 0) {
    why = "token is not <host>/?<query>";
    return std::nullopt;
  }
  parsed_token out;
  out.host = std::string(token.substr(0, sep));
  if (out.host.find('/') != std::string::npos) {
    why = "token host contains a path";
    return std::nullopt;
  }
  std::string_view query = token.substr(sep + 2);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.empty() || eq == std::string_view::npos || eq == 0) {
      why = "malformed query parameter";
      return std::nullopt;
    }
    auto name = sigv4::uri_decode(pair.substr(0, eq));
    auto value = sigv4::uri_decode(pair.substr(eq + 1));
    if (!name || !value) {
      why = "malformed percent-escape";
      return std::nullopt;
    }
    if (!out.params.emplace(std::move(*name), std::move(*value)).second) {
      why = "duplicated query parameter";
      return std::nullopt;
    }
  }
  for (const char* required : {"Action", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                               "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"}) {
    if (out.params.find(required) == out.params.end()) {
      why = std::string("missing ") + required;
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

verify_result verify_token(const verify_input& in) {
  std::string why;
  auto token = parse(in.password, why);
  if (!token) return refuse(why);
  const auto& p = token->params;
  const std::string& action = p.at("Action");
  if (action != "DbConnect" && action != "DbConnectAdmin") return refuse("unknown Action");
  const auto date = sigv4::parse_amz_date(p.at("X-Amz-Date"));
  if (!date) return refuse("malformed X-Amz-Date");
  const auto expires = parse_seconds(p.at("X-Amz-Expires"));
  if (!expires) return refuse("malformed X-Amz-Expires");

  // Any of the endpoint's names will do, whatever name the client dialled (SNI): clients reach
  // DSQL through tunnels and PrivateLink names while signing for the cluster's own name.
  bool host_known = false;
  if (in.hostnames) {
    for (const auto& name : *in.hostnames) host_known = host_known || iequals(name, token->host);
  }
  if (!host_known) return refuse("token signed for another host");

  if (p.at("X-Amz-Algorithm") != sigv4::algorithm) return refuse("unsupported algorithm");
  if (p.at("X-Amz-SignedHeaders") != "host") return refuse("signed headers are not just host");

  // Credential: <AKID>/<yyyymmdd>/<region>/dsql/aws4_request; the AKID has no '/'.
  const std::string& credential = p.at("X-Amz-Credential");
  const std::size_t slash = credential.find('/');
  if (slash == std::string::npos || slash == 0) return refuse("malformed credential");
  const std::string access_key = credential.substr(0, slash);
  const std::string scope = credential.substr(slash + 1);
  const std::string& amz_date = p.at("X-Amz-Date");
  const std::string expected_scope =
      amz_date.substr(0, 8) + "/" + std::string(in.region) + "/dsql/aws4_request";
  if (scope != expected_scope) return refuse("credential scope is not <date>/<region>/dsql");

  const identity* who = nullptr;
  if (in.identities) {
    for (const auto& id : *in.identities) {
      if (!id.access_key_id.empty() && id.access_key_id == access_key) who = &id;
    }
  }
  if (!who) return refuse("unknown access key");

  const auto st = p.find("X-Amz-Security-Token");
  const std::string_view given_session = st == p.end() ? std::string_view() : st->second;
  if (!sigv4::constant_time_equals(given_session, who->session_token)) {
    return refuse("session token does not match the access key");
  }

  sigv4::query_params signed_params;
  signed_params.reserve(p.size());
  for (const auto& [k, v] : p) {
    if (k != "X-Amz-Signature") signed_params.emplace_back(k, v);
  }
  const std::string canonical =
      sigv4::presigned_get_canonical_request(sigv4::canonical_query(signed_params), token->host);
  const sigv4::hmac_key key(
      sigv4::derive_signing_key(who->secret_access_key, amz_date.substr(0, 8), in.region, "dsql"));
  const std::string expected =
      sigv4::to_hex(key.mac(sigv4::string_to_sign(amz_date, scope, canonical)));
  if (!sigv4::constant_time_equals(expected, p.at("X-Amz-Signature"))) {
    return refuse("signature does not match");
  }

  if (*expires < 1 || *expires > 604800) return refuse("X-Amz-Expires out of range");
  const auto lifetime = std::chrono::seconds(*expires);
  if (in.now > *date + lifetime) {
    return refuse("token expired", "Signature expired: " + amz_date + " is now earlier than " +
                                       sigv4::format_amz_date(in.now - lifetime));
  }
  if (in.now < *date - in.skew) {
    return refuse("token dated in the future", "Signature not yet current: " + amz_date +
                                                   " is still later than " +
                                                   sigv4::format_amz_date(in.now + in.skew));
  }

  const bool admin = in.user == "admin";
  if (admin != (action == "DbConnectAdmin")) {
    return refuse(
        "wrong action for the user",
        "Wrong user to action mapping. user: " + util::printable(in.user) + ", action: " + action);
  }

  verify_result ok;
  ok.ok = true;
  ok.who = who;
  ok.action = action;
  return ok;
}

}  // namespace dsql::local
