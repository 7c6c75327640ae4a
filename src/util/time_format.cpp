#include "util/time_format.hpp"

#include <ctime>

namespace dsql::util {
namespace {

using std::chrono::system_clock;

constexpr unix_seconds far_future_seconds = 7258118400;  // 2200-01-01T00:00:00Z

bool is_leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(std::int64_t year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil): plain
// integer arithmetic, where timegm would normalise bad dates and overflow time_t conversions.
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

system_clock::time_point from_seconds(unix_seconds s) {
  return system_clock::time_point(std::chrono::seconds(s));
}

}  // namespace

std::optional<unix_seconds> seconds_from_utc(int year, int month, int day, int hour, int minute,
                                             int second) {
  if (year < 0 || year > 9999 || month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, month) || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 59) {
    return std::nullopt;
  }
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

std::optional<unix_seconds> parse_iso8601(std::string_view s) {
  std::size_t pos = 0;
  auto number = [&](std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = s[pos + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    out = v;
    pos += n;
    return true;
  };
  auto literal = [&](char a, char b = '\0') {
    if (pos >= s.size() || (s[pos] != a && (b == '\0' || s[pos] != b))) return false;
    ++pos;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(4, year) || !literal('-') || !number(2, month) || !literal('-') || !number(2, day) ||
      !literal('T', 't') || !number(2, hour) || !literal(':') || !number(2, minute) ||
      !literal(':') || !number(2, second)) {
    return std::nullopt;
  }
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  unix_seconds offset = 0;
  if (literal('Z', 'z')) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    int oh = 0, om = 0;
    if (!number(2, oh) || !literal(':') || !number(2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const auto local = seconds_from_utc(year, month, day, hour, minute, second);
  if (!local) return std::nullopt;
  return *local - offset;
}

system_clock::time_point far_future() {
  return from_seconds(far_future_seconds);
}

bool in_safe_range(system_clock::time_point t) {
  return t >= system_clock::time_point() && t <= far_future();
}

std::optional<system_clock::time_point> to_time_point(unix_seconds s) {
  if (s < 0 || s > far_future_seconds) return std::nullopt;
  return from_seconds(s);
}

system_clock::time_point expiration_at(unix_seconds s) {
  if (s < 0) return system_clock::time_point();
  if (s > far_future_seconds) return far_future();
  return from_seconds(s);
}

std::optional<system_clock::time_point> parse_expiration(std::string_view s) {
  const auto seconds = parse_iso8601(s);
  if (!seconds) return std::nullopt;
  return expiration_at(*seconds);
}

std::string format_iso8601(system_clock::time_point t) {
  const std::time_t secs = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

}  // namespace dsql::util
