#pragma once

// Timestamps: the one ISO 8601 parser every source uses (credential_process, STS, IMDS and
// container answers, the SSO token cache, `dsql token --signing-time`) and the range of time
// points the library computes with.
//
// system_clock counts nanoseconds in 64 bits on libstdc++, so it ends in 2262 and starts in
// 1677; years such as 9999 cannot become time points. Parsing therefore yields seconds since the
// epoch (exact for every four-digit year), and the conversions below decide what a time outside
// the safe range means.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dsql::util {

// Seconds since 1970-01-01T00:00:00Z.
using unix_seconds = std::int64_t;

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)", T and Z in either case. The date and time
// must be real (no 30 February, no second 60, no month 13); nothing may follow. The fraction is
// dropped. nullopt for anything else.
std::optional<unix_seconds> parse_iso8601(std::string_view s);

// The seconds of a UTC calendar date and time; nullopt unless it is a real one (shared with
// sigv4's basic-format parser).
std::optional<unix_seconds> seconds_from_utc(int year, int month, int day, int hour, int minute,
                                             int second);

// The latest time point the library computes with, 2200-01-01T00:00:00Z: decades inside
// system_clock, so that adding a token lifetime or subtracting a refresh window cannot overflow.
std::chrono::system_clock::time_point far_future();
inline constexpr const char* far_future_text = "2200-01-01T00:00:00Z";

// True for time points from the epoch to far_future(): the times a token may be signed at.
bool in_safe_range(std::chrono::system_clock::time_point t);

// Exact conversion; nullopt outside [epoch, far_future()].
std::optional<std::chrono::system_clock::time_point> to_time_point(unix_seconds s);

// An expiration: later than far_future() becomes far_future() ("does not expire soon"), earlier
// than the epoch becomes the epoch (long expired).
std::chrono::system_clock::time_point expiration_at(unix_seconds s);

// parse_iso8601, then expiration_at: how every credential source reads an expiration.
std::optional<std::chrono::system_clock::time_point> parse_expiration(std::string_view s);

// "2026-01-15T12:34:56Z"
std::string format_iso8601(std::chrono::system_clock::time_point t);

}  // namespace dsql::util
