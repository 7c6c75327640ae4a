// libFuzzer target: the one timestamp parser (ISO 8601 for every expiration and --signing-time,
// and sigv4's basic format, which shares its calendar) must accept only real dates, never
// overflow, and agree with the formatters it pairs with.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sigv4/sigv4.hpp"
#include "util/time_format.hpp"

namespace {

// 0000-01-01T00:00:00+23:59 .. 9999-12-31T23:59:59-23:59
constexpr dsql::util::unix_seconds earliest = -62167219200 - 86340;
constexpr dsql::util::unix_seconds latest = 253402300799 + 86340;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace util = dsql::util;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto seconds = util::parse_iso8601(text);
  const auto expiration = util::parse_expiration(text);
  if (seconds.has_value() != expiration.has_value()) __builtin_trap();
  if (seconds) {
    if (*seconds < earliest || *seconds > latest) __builtin_trap();
    if (!util::in_safe_range(*expiration)) __builtin_trap();
    if (const auto t = util::to_time_point(*seconds)) {
      if (*t != *expiration) __builtin_trap();
      // What we print, we read back to the same second.
      if (util::parse_iso8601(util::format_iso8601(*t)) != seconds) __builtin_trap();
      // The canonical form is printed exactly as it was read.
      const bool canonical = text.size() == 20 && text[10] == 'T' && text[19] == 'Z';
      if (canonical && util::format_iso8601(*t) != text) __builtin_trap();
    }
  }

  if (const auto t = dsql::sigv4::parse_amz_date(text)) {
    if (!util::in_safe_range(*t) || dsql::sigv4::format_amz_date(*t) != text) __builtin_trap();
  }
  return 0;
}
