#pragma once

// Retry options for tests: quick backoff, because these tests check what is retried, not pacing.

#include <chrono>

#include "dsql/retry.hpp"

namespace dsql::test {

inline retry_options fast_retry(int attempts = 4) {
  retry_options o;
  o.max_attempts = attempts;
  o.initial_backoff = std::chrono::milliseconds(2);
  o.max_backoff = std::chrono::milliseconds(20);
  return o;
}

}  // namespace dsql::test
