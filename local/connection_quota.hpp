#pragma once

// DSQL's connection quotas: at most N open connections per cluster (53300), and new connections
// metered by a token bucket (53400: burst B, refilled at R per second). I/O-free; the caller
// supplies the time. Not thread-safe: the front uses it from its one I/O thread.

#include <chrono>
#include <cstddef>

namespace dsql::local {

struct quota_limits {
  std::size_t max_connections = 10000;  // 0: no limit
  double connection_rate = 100;         // tokens per second; 0: no limit
  double connection_burst = 1000;       // bucket size
};

class connection_quota {
 public:
  using clock = std::chrono::steady_clock;
  enum class verdict { admitted, too_many_connections, rate_exceeded };

  connection_quota(quota_limits limits, clock::time_point now);

  // A new connection asks to log in. An admitted one holds a slot until release().
  verdict admit(clock::time_point now);
  void release() noexcept;
  std::size_t open() const noexcept { return open_; }

 private:
  quota_limits limits_;
  double tokens_;
  clock::time_point refilled_;
  std::size_t open_ = 0;
};

}  // namespace dsql::local
