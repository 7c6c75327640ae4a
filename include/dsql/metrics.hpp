#pragma once

/// @file
/// Counters and latencies for an exporter (Prometheus, OpenTelemetry, statsd...). One sink for the
/// process, like the log handler: connects are made by connectors that pools, run_transaction
/// and users share, so a per-pool sink would miss some of them. Per-pool gauges (open, idle,
/// in use) stay in pool::stats(), which an exporter can poll.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace dsql {

/// The counters a metrics_sink receives.
enum class metric : std::size_t {
  connects_attempted,     ///< every physical connect a connector starts
  connects_succeeded,     ///< connects that succeeded
  connects_failed,        ///< refused or broken, rate refusals excluded
  connects_rate_limited,  ///< refused for rate (53400): retried by pools and run_transaction
  occ_retries,            ///< transactions run again after a conflict (or a rate refusal)
  pool_acquires,          ///< acquires from pools
  pool_acquire_timeouts,  ///< pool acquires that gave up (timed out)
};
/// How many values dsql::metric has.
inline constexpr std::size_t metric_count = 7;

/// "connects_attempted", ...: names for an exporter.
std::string_view to_string(metric m) noexcept;

/// Receives the process's counters and latencies. Implementations must be thread-safe: any thread
/// may report, with no library lock held.
/// Exceptions cannot escape (noexcept); keep the calls cheap, they sit on the connect path.
class metrics_sink {
 public:
  virtual ~metrics_sink() = default;
  /// Adds `n` to the counter `m`.
  virtual void add(metric m, std::uint64_t n) noexcept = 0;
  /// How long one connect took (TLS, login, token check), successful or not.
  virtual void observe_connect_latency(std::chrono::nanoseconds duration, bool succeeded) noexcept;
};

/// Thread-safe. Replaces the process's sink; nullptr turns metrics off (the default, which costs
/// one atomic load per event).
void set_metrics_sink(std::shared_ptr<metrics_sink> sink);

/// A ready sink with atomic counters, for exporters that poll and for tests. Thread-safe.
class metrics_counters final : public metrics_sink {
 public:
  /// Adds `n` to the counter `m` (relaxed atomic).
  void add(metric m, std::uint64_t n) noexcept override;
  /// Counts the connect and adds its duration to the sum and the maximum.
  void observe_connect_latency(std::chrono::nanoseconds duration, bool succeeded) noexcept override;

  /// The counter `m` so far.
  std::uint64_t value(metric m) const noexcept;
  /// How many connect latencies were observed.
  std::uint64_t connect_latency_count() const noexcept;
  /// The sum of the observed connect latencies.
  std::chrono::nanoseconds connect_latency_sum() const noexcept;
  /// The longest observed connect latency.
  std::chrono::nanoseconds connect_latency_max() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, metric_count> values_{};
  std::atomic<std::uint64_t> latency_count_{0};
  std::atomic<std::int64_t> latency_sum_ns_{0};
  std::atomic<std::int64_t> latency_max_ns_{0};
};

}  // namespace dsql
