#pragma once

// The connect events (connect.start, connect.success, connect.failure, connect.rate_limited) and
// metrics, shared by the blocking connect and dsql::async's. Not thread-safe: one per connect
// attempt, used by whoever runs it.

#include <chrono>
#include <exception>

#include "dsql/config.hpp"

namespace dsql::detail {

class connect_report {
 public:
  // Reports the start, and from here on measures the duration, when anyone listens.
  explicit connect_report(const resolved_config& settings) noexcept;
  void succeeded() noexcept;
  // `error`: what the attempt throws; its SQLSTATE and diagnosis become fields.
  void failed(const std::exception_ptr& error) noexcept;

 private:
  const resolved_config& settings_;  // the connector's, which outlives the attempt
  bool active_ = false;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace dsql::detail
