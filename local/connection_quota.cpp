#include "local/connection_quota.hpp"

#include <algorithm>

namespace dsql::local {

connection_quota::connection_quota(quota_limits limits, clock::time_point now)
    : limits_(limits), tokens_(limits.connection_burst), refilled_(now) {}

connection_quota::verdict connection_quota::admit(clock::time_point now) {
  if (limits_.connection_rate > 0) {
    const std::chrono::duration<double> elapsed = now - refilled_;
    tokens_ = std::min(limits_.connection_burst,
                       tokens_ + std::max(0.0, elapsed.count()) * limits_.connection_rate);
    refilled_ = std::max(refilled_, now);
    // Every attempt the rate lets through uses a token, refused for capacity or not.
    if (tokens_ < 1) return verdict::rate_exceeded;
    tokens_ -= 1;
  }
  if (limits_.max_connections > 0 && open_ >= limits_.max_connections) {
    return verdict::too_many_connections;
  }
  ++open_;
  return verdict::admitted;
}

void connection_quota::release() noexcept {
  if (open_ > 0) --open_;
}

}  // namespace dsql::local
