#pragma once

// The JSON token caches the AWS CLI writes and the connector refreshes: ~/.aws/sso/cache (SSO
// access tokens, `aws sso login`) and ~/.aws/login/cache (console sessions, `aws login`).

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace dsql::credential_sources {

// Held from reading a cached token to writing its refreshed form: two chains in one process
// (two pools, say) then refresh a token once, the second reading what the first wrote.
std::unique_lock<std::mutex> lock_token_caches();

// The cache file as JSON; nullopt when it does not exist. Throws credentials_error
// "<what> <path> ..." + `fix` when it cannot be read or is not a JSON object (its text is never
// quoted: it holds secrets).
std::optional<nlohmann::json> read_token_cache(const std::string& path, const std::string& what,
                                               const std::string& fix);

// Replaces the cache file atomically, 0600 (util::write_file_atomically), as JSON the AWS CLI
// reads back.
void write_token_cache(const std::string& path, const nlohmann::json& doc, const std::string& what,
                       const std::string& fix);

}  // namespace dsql::credential_sources
