#pragma once

// How the library reports events (dsql/log.hpp) and metrics (dsql/metrics.hpp). Callers test
// log_on()/metrics_on() first, so that nothing is built when nobody listens. All thread-safe.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsql/log.hpp"
#include "dsql/metrics.hpp"

namespace dsql::detail {

// One relaxed atomic load; reads DSQL_LOG on first use.
bool log_on(log_level level) noexcept;
// Escapes every value (util::printable) and hands the event to the handler. Call with no lock
// held: the handler is user code.
void log(log_level level, std::string_view name, std::vector<log_field> fields) noexcept;

bool metrics_on() noexcept;
void count(metric m, std::uint64_t n = 1) noexcept;
void observe_connect_latency(std::chrono::nanoseconds duration, bool succeeded) noexcept;

// Milliseconds, for duration fields.
std::string millis(std::chrono::nanoseconds d);

}  // namespace dsql::detail
