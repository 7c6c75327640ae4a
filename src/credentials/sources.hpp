#pragma once

// The credential sources of the default chain, one per file in src/credentials/.
// Each `try_*` returns nullopt when its source is not configured (so the chain moves on), returns
// credentials when it is, and throws dsql::credentials_error naming the source and the fix when
// it is configured but fails.

#include <chrono>
#include <optional>
#include <string>

#include "credentials/shared_config.hpp"
#include "dsql/credentials.hpp"

namespace dsql::credential_sources {

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
std::optional<credentials> try_environment();

// Everything a named profile can hold: static keys, then role_arn (assume-role; cloud sources
// issue), then credential_process, then SSO. `explicit_profile` is true when the user named it
// (an unknown explicit profile is an error; a missing "default" just means "not configured").
std::optional<credentials> try_profile(const aws_config::shared_config& files,
                                       const std::string& profile_name, bool explicit_profile);

// Runs a credential_process command line without a shell and reads its JSON (Version 1).
credentials run_credential_process(const std::string& command_line, const std::string& profile_name,
                                   std::chrono::milliseconds timeout);

// Parses credential_process output; exposed for tests and the fuzzer.
credentials parse_process_output(const std::string& json_text, const std::string& profile_name);

}  // namespace dsql::credential_sources
