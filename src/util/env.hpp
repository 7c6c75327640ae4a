#pragma once

// Environment lookups. An empty variable counts as unset, as the AWS SDKs treat it.

#include <optional>
#include <string>

namespace dsql::util {

std::optional<std::string> get_env(const char* name);
// The user's home directory: $HOME, else the password database.
std::string home_directory();

}  // namespace dsql::util
