#pragma once

/// @file
/// What the connector does, as structured events: credentials resolved, tokens signed, connects,
/// pool changes, OCC retries, failover, rate refusals. Silent by default. Either install a
/// handler (to forward to spdlog, syslog, ...) or set DSQL_LOG=debug|info|warn|error to get one
/// line per event on stderr. An event never carries a token, secret key, session token or
/// password, and every value that came from a user or a server is escaped (no control
/// characters, bounded length), so a handler may print fields as they are.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsql {

/// How much an event matters; `off` as a threshold drops every event.
enum class log_level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// "debug", "info", "warn", "error" or "off".
std::string_view to_string(log_level level) noexcept;
/// "debug", "info", "warn" (or "warning"), "error", "off", any case; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view text) noexcept;

/// One key/value pair of an event. Values are already escaped. A plain value: copy it freely,
/// share it read-only between threads.
struct log_field {
  std::string key;    ///< The field's name, e.g. "host".
  std::string value;  ///< The field's value, already escaped.
};

/// One event. Immutable once built (handlers get it const): read it from any thread, keep a copy
/// if need be.
struct log_event {
  log_level level = log_level::info;  ///< How much the event matters.
  std::string name;  ///< dotted, stable: "connect.success", "pool.acquire_timeout", ...
  std::vector<log_field> fields;  ///< The event's key/value pairs.

  /// The value of `key`, or nullopt.
  std::optional<std::string> field(std::string_view key) const;
};

/// "dsql: info connect.success host=h port=5432 duration_ms=12": the DSQL_LOG format.
std::string format_log_line(const log_event& event);

/// Called for every event at or above the installed level, on the thread that caused it, never
/// with a library lock held. It must be thread-safe; exceptions it throws are swallowed.
using log_handler = std::function<void(const log_event&)>;

/// Thread-safe. Replaces the handler (and DSQL_LOG's stderr output); an empty handler turns
/// logging off. Events below `min_level` are not even built.
void set_log_handler(log_handler handler, log_level min_level = log_level::info);
/// Thread-safe. The level below which events are dropped (off when no handler and no DSQL_LOG).
log_level current_log_level() noexcept;

}  // namespace dsql
