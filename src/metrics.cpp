#include <atomic>
#include <memory>
#include <mutex>

#include "observe.hpp"

namespace dsql {
namespace {

// The flag spares the hot path the mutex when no sink is installed (the default).
std::atomic<bool> g_installed{false};
std::mutex g_mutex;
std::shared_ptr<metrics_sink> g_sink;

std::shared_ptr<metrics_sink> sink() {
  std::lock_guard<std::mutex> lk(g_mutex);
  return g_sink;
}

}  // namespace

std::string_view to_string(metric m) noexcept {
  switch (m) {
    case metric::connects_attempted:
      return "connects_attempted";
    case metric::connects_succeeded:
      return "connects_succeeded";
    case metric::connects_failed:
      return "connects_failed";
    case metric::connects_rate_limited:
      return "connects_rate_limited";
    case metric::occ_retries:
      return "occ_retries";
    case metric::pool_acquires:
      return "pool_acquires";
    case metric::pool_acquire_timeouts:
      return "pool_acquire_timeouts";
  }
  return "unknown";
}

void metrics_sink::observe_connect_latency(std::chrono::nanoseconds, bool) noexcept {}

void set_metrics_sink(std::shared_ptr<metrics_sink> s) {
  std::lock_guard<std::mutex> lk(g_mutex);
  g_sink = std::move(s);
  g_installed.store(g_sink != nullptr, std::memory_order_release);
}

void metrics_counters::add(metric m, std::uint64_t n) noexcept {
  const auto i = static_cast<std::size_t>(m);
  if (i < values_.size()) values_[i].fetch_add(n, std::memory_order_relaxed);
}

void metrics_counters::observe_connect_latency(std::chrono::nanoseconds d, bool) noexcept {
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(d.count(), std::memory_order_relaxed);
  auto seen = latency_max_ns_.load(std::memory_order_relaxed);
  while (d.count() > seen &&
         !latency_max_ns_.compare_exchange_weak(seen, d.count(), std::memory_order_relaxed)) {
  }
}

std::uint64_t metrics_counters::value(metric m) const noexcept {
  const auto i = static_cast<std::size_t>(m);
  return i < values_.size() ? values_[i].load(std::memory_order_relaxed) : 0;
}

std::uint64_t metrics_counters::connect_latency_count() const noexcept {
  return latency_count_.load(std::memory_order_relaxed);
}

std::chrono::nanoseconds metrics_counters::connect_latency_sum() const noexcept {
  return std::chrono::nanoseconds(latency_sum_ns_.load(std::memory_order_relaxed));
}

std::chrono::nanoseconds metrics_counters::connect_latency_max() const noexcept {
  return std::chrono::nanoseconds(latency_max_ns_.load(std::memory_order_relaxed));
}

namespace detail {

bool metrics_on() noexcept {
  return g_installed.load(std::memory_order_acquire);
}

void count(metric m, std::uint64_t n) noexcept {
  if (n == 0 || !metrics_on()) return;
  try {
    if (auto s = sink()) s->add(m, n);
  } catch (...) {
  }
}

void observe_connect_latency(std::chrono::nanoseconds d, bool succeeded) noexcept {
  if (!metrics_on()) return;
  try {
    if (auto s = sink()) s->observe_connect_latency(d, succeeded);
  } catch (...) {
  }
}

}  // namespace detail
}  // namespace dsql
