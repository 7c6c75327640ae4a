#pragma once

// The credential sources of the default chain, one per file in src/credentials/.
// Each `try_*` returns nullopt when its source is not configured (so the chain moves on), returns
// credentials when it is, and throws dsql::credentials_error naming the source and the fix when
// it is configured but fails.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "credentials/shared_config.hpp"
#include "dsql/credentials.hpp"

namespace dsql::credential_sources {

// How long a credential_process may run before it is killed (botocore has no limit; a hung
// helper would otherwise hang every connection attempt).
inline constexpr std::chrono::milliseconds default_process_timeout{std::chrono::seconds(30)};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
std::optional<credentials> try_environment();

// Everything a named profile can hold, in this order: role_arn (assume-role; cloud sources
// issue: it comes first so that a role profile that also has keys never silently signs as the
// base identity), static keys, credential_process, SSO. `explicit_profile` is true when the user
// named it (an unknown explicit profile is an error; a missing "default" just means "not
// configured"). A profile without any credential setting (e.g. only `region`) gives nullopt.
std::optional<credentials> try_profile(
    const aws_config::shared_config& files, const std::string& profile_name, bool explicit_profile,
    std::chrono::milliseconds process_timeout = default_process_timeout);

// Runs a credential_process command line without a shell and reads its JSON (Version 1).
credentials run_credential_process(const std::string& command_line, const std::string& profile_name,
                                   std::chrono::milliseconds timeout);

// Parses credential_process output; exposed for tests and the fuzzer.
credentials parse_process_output(const std::string& json_text, const std::string& profile_name);

// Splits a command line as POSIX shlex.split does (quotes, backslash escapes, no expansion).
// Throws dsql::credentials_error on an unterminated quote or a trailing backslash.
std::vector<std::string> split_command_line(const std::string& command_line);

}  // namespace dsql::credential_sources
