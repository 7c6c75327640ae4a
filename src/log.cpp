#include <atomic>
#include <cctype>
#include <cstdio>
#include <memory>
#include <mutex>

#include "log_env.hpp"
#include "observe.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"

namespace dsql {
namespace {

// Not yet known: DSQL_LOG is read on the first check, not at load time, so that a program may
// set it (or install a handler) in main() before its first connect.
constexpr int level_unknown = -1;

std::atomic<int> g_level{level_unknown};
std::mutex g_mutex;  // guards g_handler and the first read of DSQL_LOG
std::shared_ptr<const log_handler> g_handler;
bool g_env_read = false;

void write_stderr(const log_event& e) {
  // One write per line, under a lock, so that lines from several threads do not interleave.
  static std::mutex out;
  const std::string line = format_log_line(e) + "\n";
  std::lock_guard<std::mutex> lk(out);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

// Under g_mutex.
void read_env_locked() {
  if (g_env_read) return;
  g_env_read = true;
  const auto value = util::get_env("DSQL_LOG");
  const auto level = value ? parse_log_level(*value) : std::nullopt;
  if (level && *level != log_level::off) {
    g_handler = std::make_shared<const log_handler>(&write_stderr);
    g_level.store(static_cast<int>(*level), std::memory_order_release);
  } else {
    g_handler.reset();
    g_level.store(static_cast<int>(log_level::off), std::memory_order_release);
  }
}

int level_now() noexcept {
  int l = g_level.load(std::memory_order_acquire);
  if (l != level_unknown) return l;
  std::lock_guard<std::mutex> lk(g_mutex);
  read_env_locked();
  return g_level.load(std::memory_order_acquire);
}

bool needs_quotes(const std::string& v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '=' || c == '\'' || c == '"') return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
    case log_level::off:
      break;
  }
  return "off";
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "debug") return log_level::debug;
  if (lower == "info") return log_level::info;
  if (lower == "warn" || lower == "warning") return log_level::warn;
  if (lower == "error") return log_level::error;
  if (lower == "off") return log_level::off;
  return std::nullopt;
}

std::optional<std::string> log_event::field(std::string_view key) const {
  for (const auto& f : fields) {
    if (f.key == key) return f.value;
  }
  return std::nullopt;
}

std::string format_log_line(const log_event& e) {
  std::string line = "dsql: ";
  line += to_string(e.level);
  line += ' ';
  line += e.name;
  for (const auto& f : e.fields) {
    line += ' ';
    line += f.key;
    line += '=';
    // Values are escaped already; quoting keeps one with spaces a single field.
    line += needs_quotes(f.value) ? util::quoted(f.value) : f.value;
  }
  return line;
}

void set_log_handler(log_handler handler, log_level min_level) {
  std::lock_guard<std::mutex> lk(g_mutex);
  g_env_read = true;  // an installed handler wins over DSQL_LOG, whenever it is read
  if (!handler || min_level == log_level::off) {
    g_handler.reset();
    g_level.store(static_cast<int>(log_level::off), std::memory_order_release);
    return;
  }
  g_handler = std::make_shared<const log_handler>(std::move(handler));
  g_level.store(static_cast<int>(min_level), std::memory_order_release);
}

log_level current_log_level() noexcept {
  return static_cast<log_level>(level_now());
}

namespace detail {

bool log_on(log_level level) noexcept {
  return static_cast<int>(level) >= level_now();
}

void log(log_level level, std::string_view name, std::vector<log_field> fields) noexcept {
  try {
    if (!log_on(level)) return;
    std::shared_ptr<const log_handler> handler;
    {
      std::lock_guard<std::mutex> lk(g_mutex);
      handler = g_handler;
    }
    if (!handler) return;
    log_event e;
    e.level = level;
    e.name = std::string(name);
    e.fields = std::move(fields);
    for (auto& f : e.fields) f.value = util::printable(f.value, 300);
    (*handler)(e);
  } catch (...) {
    // Logging never changes what the library does.
  }
}

std::string millis(std::chrono::nanoseconds d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  std::string s = std::to_string(us / 1000) + "." + std::to_string((us % 1000) / 100);
  return s;
}

void reread_log_env_for_tests() {
  std::lock_guard<std::mutex> lk(g_mutex);
  g_env_read = false;
  g_level.store(level_unknown, std::memory_order_release);
}

}  // namespace detail
}  // namespace dsql
