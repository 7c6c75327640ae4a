#pragma once

// SigV4 header signing for a whole HTTP request (the STS AssumeRole POST), built on the
// primitives in sigv4.hpp. The token signer presigns a URL instead; both share the key
// derivation and the string to sign.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sigv4/sigv4.hpp"

namespace dsql::sigv4 {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct request_to_sign {
  std::string method = "POST";
  std::string host;  // the Host header as sent (with a port if it is not the default)
  std::string path = "/";
  query_params query;
  header_list headers;  // signed besides host and x-amz-date, e.g. content-type
  std::string body;
};

struct signing_identity {
  std::string_view access_key_id;
  std::string_view secret_access_key;
  std::string_view session_token;  // empty for long-term keys
};

struct signed_request {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  // The headers to send in addition to the request's own: Authorization, X-Amz-Date and,
  // with a session token, X-Amz-Security-Token.
  header_list headers;
};

// Canonical headers are the lowercased names with trimmed values (inner runs of spaces
// collapsed), sorted by name; the payload hash is the SHA-256 of the body.
signed_request sign_request(const request_to_sign& request, const signing_identity& identity,
                            std::string_view region, std::string_view service,
                            std::chrono::system_clock::time_point when);

}  // namespace dsql::sigv4
