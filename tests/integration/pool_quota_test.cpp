// DSQL's connection quotas seen through the pool and the retry helpers, against `dsql local`
// with a low rate limit: a storm of pools filling up is metered by the cluster (53400) without
// any caller seeing it, capacity exhausted (53300) reaches the caller with a clear message, and
// run_transaction retries a connect refused for rate.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dsql/pool.hpp"
#include "dsql/retry.hpp"
#include "local_endpoint.hpp"

namespace dsql {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::local_endpoint;

local_endpoint::options with_args(std::vector<std::string> args) {
  local_endpoint::options o;
  o.extra_args = std::move(args);
  return o;
}

TEST(PoolQuotas, AStormOfPoolsReachesMinSizeUnderTheRateLimitWithNoCallerError) {
  // 8 x 25 = 200 connections against a burst of 20 refilled at 20/s: about 9 s of metering.
  local_endpoint ep(with_args({"--connection-rate", "20", "--connection-burst", "20"}));
  constexpr std::size_t pools = 8, per_pool = 25;
  pool_options po;
  po.min_size = per_pool;
  po.max_size = per_pool;
  po.acquire_timeout = seconds(60);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<pool>> storm;
  for (std::size_t i = 0; i < pools; ++i) storm.push_back(std::make_unique<pool>(ep.config(), po));

  // Callers use every pool while it fills: their acquires also open connections, and a
  // refusal for rate must never reach them.
  std::atomic<int> caller_errors{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> callers;
  for (auto& p : storm) {
    callers.emplace_back([&, raw = p.get()] {
      while (!done.load()) {
        try {
          lease l = raw->acquire();
          l->exec("SELECT 1");
        } catch (const std::exception& e) {
          ++caller_errors;
          ADD_FAILURE() << e.what();
        }
        std::this_thread::sleep_for(milliseconds(20));
      }
    });
  }
  // Generous: a slow machine must not fail this; the metering alone needs about 9 s.
  const auto give_up = start + seconds(150);
  auto filled = [&] {
    for (auto& p : storm) {
      if (p->stats().open < per_pool) return false;
    }
    return true;
  };
  while (!filled() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  done = true;
  for (auto& t : callers) t.join();

  std::uint64_t refused = 0, failed = 0;
  for (auto& p : storm) {
    const auto st = p->stats();
    EXPECT_GE(st.open, per_pool);
    EXPECT_EQ(st.timeouts, 0u);
    refused += st.rate_limited;
    failed += st.failed_connects;
  }
  EXPECT_EQ(caller_errors.load(), 0);
  EXPECT_EQ(failed, 0u) << "a refusal for rate was counted as a failed connect";
  std::cout << "8 pools x 25 connections reached min_size in " << took.count() << " s; " << refused
            << " connects refused for rate and retried\n";
}

TEST(PoolQuotas, CapacityExhaustedReachesTheCallerWithAClearMessage) {
  local_endpoint ep(with_args({"--max-connections", "2"}));
  pool_options po;
  po.max_size = 4;
  po.acquire_timeout = seconds(30);
  pool p(ep.config(), po);
  lease a = p.acquire();
  lease b = p.acquire();
  const auto before = std::chrono::steady_clock::now();
  try {
    lease c = p.acquire();
    FAIL() << "expected too_many_connections_error";
  } catch (const too_many_connections_error& e) {
    EXPECT_EQ(e.sqlstate(), "53300");
    EXPECT_NE(std::string(e.what()).find("capacity exhausted"), std::string::npos) << e.what();
  }
  // Surfaced at once, not after the acquire timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(25));
  EXPECT_EQ(a->exec("SELECT 1").value(0, 0), "1");
}

TEST(PoolQuotas, RunTransactionRetriesAConnectRefusedForRate) {
  // One connection, then one every 5 s: the next connect is refused however slow this machine.
  local_endpoint ep(with_args({"--connection-rate", "0.2", "--connection-burst", "1"}));
  connection first = connect(ep.config());
  connector source(ep.config());
  retry_options ro;
  ro.max_attempts = 20;
  ro.initial_backoff = milliseconds(250);
  ro.max_backoff = seconds(2);
  std::vector<retry_event> events;
  ro.on_retry = [&](const retry_event& e) { events.push_back(e); };
  const std::string value = run_transaction(
      source, [](connection& c) { return std::string(c.exec("SELECT 42").value(0, 0)); }, ro);
  EXPECT_EQ(value, "42");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().sqlstate, "53400");
}

}  // namespace
}  // namespace dsql
