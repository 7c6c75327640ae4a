#pragma once

// Verifies a DSQL IAM auth token (the cleartext password) the way Aurora DSQL does, with the
// shared SigV4 code. A pure function: no I/O, the clock is an argument.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "local/front_server.hpp"

namespace dsql::local {

struct verify_input {
  std::string_view password;
  std::string_view user;
  const std::vector<std::string>* hostnames = nullptr;  // names the endpoint answers to
  std::string_view region;
  const std::vector<identity>* identities = nullptr;
  std::chrono::system_clock::time_point now;
  std::chrono::seconds skew{300};
};

struct verify_result {
  bool ok = false;
  const identity* who = nullptr;  // set when ok; points into verify_input::identities
  std::string action;             // DbConnect or DbConnectAdmin, once parsed
  // Sent to the client as the H field; empty for refusals DSQL gives without a hint.
  std::string hint;
  // For the endpoint's log only: which check failed. Never contains the token or a secret.
  std::string reason;
};

// Checks, in order: token shape, host, algorithm, signed headers, credential scope, access key,
// session token, signature, expiry range, validity window, user-to-action mapping.
verify_result verify_token(const verify_input& in);

}  // namespace dsql::local
