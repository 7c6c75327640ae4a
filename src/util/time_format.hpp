#pragma once

// RFC 3339 / ISO 8601 timestamps as AWS writes them in credential responses.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dsql::util {

// "2026-01-15T12:34:56Z"
std::string format_iso8601(std::chrono::system_clock::time_point t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" (lowercase t/z too); nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s);

}  // namespace dsql::util
