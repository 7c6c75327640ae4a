// async_pool against `dsql local`: the issue's own example as written, sharing, leases given back
// dirty, timeouts, cancellation, failover, validation after a restart, min_size, setup statements.
#include <gtest/gtest.h>

#include "local_endpoint.hpp"
#include "support/async.hpp"
#include "support/sockets.hpp"
#include "support/tcp_relay.hpp"

namespace dsql {
namespace {

using std::chrono::milliseconds;
using test::number;
using test::run_coroutine;

class AsyncPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connection c = connect(ep.config());
    c.exec("CREATE TABLE IF NOT EXISTS counter (id int PRIMARY KEY, v bigint)");
    c.exec("INSERT INTO counter VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET v = 0");
    c.exec("CREATE TABLE IF NOT EXISTS async_notes (id int PRIMARY KEY, note text)");
  }

  long long counter() {
    connection c = connect(ep.config());
    return std::stoll(std::string(c.exec("SELECT v FROM counter WHERE id = 1").value(0, 0)));
  }

  test::local_endpoint ep;
};

// The shape a user writes, exactly as the issue gives it; io.run() must return by itself.
TEST_F(AsyncPoolTest, TheIssuesExampleRunsAsWritten) {
  const config cfg = ep.config();
  const pool_options options;
  int got_select = 0, got_n = 0;
  {
    asio::io_context io;
    dsql::async_pool pool(io.get_executor(), cfg, options);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          dsql::async_lease lease = co_await pool.async_acquire(asio::use_awaitable);
          dsql::result r = co_await lease->async_exec("SELECT 1", asio::use_awaitable);
          int n = co_await dsql::async_run_transaction(
              pool,
              [](dsql::async_connection& c) -> asio::awaitable<int> {
                co_await c.async_exec("UPDATE counter SET v = v + 1 WHERE id = 1",
                                      asio::use_awaitable);
                co_return 1;
              },
              dsql::retry_options{}, asio::use_awaitable);
          got_select = static_cast<int>(number(r));
          got_n = n;
        },
        asio::detached);
    io.run();
  }
  EXPECT_EQ(got_select, 1);
  EXPECT_EQ(got_n, 1);
  EXPECT_EQ(counter(), 1);
}

TEST_F(AsyncPoolTest, SixtyFourTasksShareEightConnections) {
  asio::io_context io;
  pool_options po;
  po.max_size = 8;
  po.max_concurrent_connects = 8;
  async_pool pool(io.get_executor(), ep.config(), po);
  int ok = 0;
  for (int t = 0; t < 64; ++t) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < 10; ++i) {
            auto lease = co_await pool.async_acquire(asio::use_awaitable);
            if (number(co_await lease->async_exec("SELECT 1", asio::use_awaitable)) == 1) ++ok;
          }
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(ok, 640);
  const auto s = pool.stats();
  EXPECT_LE(s.created, 8u);
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.acquires, 640u);
  EXPECT_EQ(s.broken, 0u);
}

TEST_F(AsyncPoolTest, LeasesRollBackAndDiscardWithoutBlocking) {
  asio::io_context io;
  pool_options po;
  po.max_size = 1;
  async_pool pool(io.get_executor(), ep.config(), po);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    {
      auto l = co_await pool.async_acquire(asio::use_awaitable);
      co_await l->async_exec("BEGIN", asio::use_awaitable);
      co_await l->async_exec("INSERT INTO async_notes VALUES (1, 'left open')",
                             asio::use_awaitable);
    }  // given back inside a transaction: rolled back before the next holder
    {
      auto l = co_await pool.async_acquire(asio::use_awaitable);
      EXPECT_FALSE(l->in_transaction());
      auto r = co_await l->async_exec("SELECT count(*) FROM async_notes WHERE id = 1",
                                      asio::use_awaitable);
      EXPECT_EQ(number(r), 0);
    }
    EXPECT_EQ(pool.stats().created, 1u);  // the rolled-back connection was reused
    {
      auto l = co_await pool.async_acquire(asio::use_awaitable);
      l.release_broken();
      EXPECT_THROW(l.get(), lease_error);
    }
    {
      auto l = co_await pool.async_acquire(asio::use_awaitable);
      l->close();  // the holder closed it: noticed when it comes back
    }
    EXPECT_EQ(pool.stats().broken, 2u);
    auto l = co_await pool.async_acquire(asio::use_awaitable);
    EXPECT_EQ(number(co_await l->async_exec("SELECT 5", asio::use_awaitable)), 5);
  });
}

TEST_F(AsyncPoolTest, AcquireTimesOutCancelsAndClosesCleanly) {
  asio::io_context io;
  pool_options po;
  po.max_size = 1;
  async_pool pool(io.get_executor(), ep.config(), po);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto held = co_await pool.async_acquire(asio::use_awaitable);
    try {
      co_await pool.async_acquire(milliseconds(100), asio::use_awaitable);
      ADD_FAILURE() << "expected pool_timeout_error";
    } catch (const pool_timeout_error& e) {
      EXPECT_NE(std::string(e.what()).find("1 of 1 connections in use"), std::string::npos)
          << e.what();
    }
    asio::cancellation_signal signal;
    asio::steady_timer later(io, milliseconds(20));
    later.async_wait([&](const auto&) { signal.emit(asio::cancellation_type::terminal); });
    EXPECT_THROW(co_await pool.async_acquire(
                     std::chrono::seconds(60),
                     asio::bind_cancellation_slot(signal.slot(), asio::use_awaitable)),
                 cancelled_error);
    // A waiter when the pool closes is told so; the lease out keeps working.
    std::exception_ptr waiting;
    pool.async_acquire([&](std::exception_ptr e, async_lease) { waiting = e; });
    later.expires_after(milliseconds(20));
    co_await later.async_wait(asio::use_awaitable);
    pool.close();
    EXPECT_EQ(number(co_await held->async_exec("SELECT 2", asio::use_awaitable)), 2);
    later.expires_after(milliseconds(1));
    co_await later.async_wait(asio::use_awaitable);
    EXPECT_TRUE(waiting);
    if (waiting) {
      EXPECT_THROW(std::rethrow_exception(waiting), pool_closed_error);
    }
  });
  EXPECT_EQ(pool.stats().timeouts, 1u);
  EXPECT_EQ(pool.stats().open, 0u);  // the lease's connection was closed when it came back
}

TEST_F(AsyncPoolTest, SkipsAFailedPeerInAMultiRegionList) {
  asio::io_context io;
  pool_options po;
  const auto dead = test::free_loopback_port();
  po.endpoints = {"127.0.0.1:" + std::to_string(dead), "localhost:" + std::to_string(ep.port())};
  async_pool pool(io.get_executor(), ep.config(), po);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto l = co_await pool.async_acquire(asio::use_awaitable);
    EXPECT_EQ(number(co_await l->async_exec("SELECT 1", asio::use_awaitable)), 1);
  });
  EXPECT_EQ(pool.current_endpoint(), "localhost:" + std::to_string(ep.port()));
  EXPECT_EQ(pool.stats().endpoint_index, 1u);
  EXPECT_EQ(pool.stats().failed_connects, 0u);
}

TEST(AsyncPoolEndpoint, ReplacesConnectionsThatDiedInARestart) {
  test::local_endpoint ep;
  test::tcp_relay front(ep.port());  // one address across the restart
  config cfg = ep.config();
  cfg.port = front.port();
  asio::io_context io;
  pool_options po;
  po.max_size = 2;
  po.connect_backoff_initial = milliseconds(10);
  po.connect_backoff_max = milliseconds(200);
  async_pool pool(io.get_executor(), cfg, po);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto a = co_await pool.async_acquire(asio::use_awaitable);
    auto b = co_await pool.async_acquire(asio::use_awaitable);
  });
  EXPECT_EQ(pool.stats().idle, 2u);
  ep.restart();
  front.retarget(ep.port());
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    asio::steady_timer settle(io, milliseconds(5));  // past the socket-check threshold
    co_await settle.async_wait(asio::use_awaitable);
    for (int i = 0; i < 4; ++i) {
      auto l = co_await pool.async_acquire(asio::use_awaitable);
      EXPECT_EQ(number(co_await l->async_exec("SELECT 1", asio::use_awaitable)), 1);
    }
  });
  EXPECT_GE(pool.stats().created, 3u);
  EXPECT_GE(pool.stats().broken, 1u);
}

TEST(AsyncPoolEndpoint, AWaiterIsServedOnceTheConnectBackoffEnds) {
  test::local_endpoint ep;
  test::tcp_relay front(test::free_loopback_port());  // nothing behind it yet
  config cfg = ep.config();
  cfg.port = front.port();
  asio::io_context io;
  pool_options po;
  // Long enough that the second acquire surely comes while it lasts (1 to 2 s).
  po.connect_backoff_initial = std::chrono::seconds(2);
  po.connect_backoff_max = std::chrono::seconds(2);
  async_pool pool(io.get_executor(), cfg, po);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    EXPECT_THROW(co_await pool.async_acquire(asio::use_awaitable), connection_error);
    front.retarget(ep.port());
    // Waits out the backoff the failure started, then connects.
    auto l = co_await pool.async_acquire(std::chrono::seconds(60), asio::use_awaitable);
    EXPECT_EQ(number(co_await l->async_exec("SELECT 1", asio::use_awaitable)), 1);
  });
  const auto s = pool.stats();
  EXPECT_EQ(s.failed_connects, 1u);
  EXPECT_EQ(s.created, 1u);
  EXPECT_EQ(s.waits, 1u);
}

TEST_F(AsyncPoolTest, MinSizeIsFilledAndSetupStatementsRun) {
  asio::io_context io;
  pool_options po;
  po.min_size = 2;
  async_options ao;
  ao.after_connect = {"SET search_path = public"};
  async_pool pool(io.get_executor(), ep.config(), po, ao);
  io.run();  // returns once min_size is reached: nothing else to do
  EXPECT_EQ(pool.stats().idle, 2u);
  EXPECT_EQ(pool.stats().created, 2u);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto l = co_await pool.async_acquire(asio::use_awaitable);
    auto r = co_await l->async_exec("SHOW search_path", asio::use_awaitable);
    EXPECT_EQ(r.value(0, 0), std::string("public"));
  });

  ao.after_connect = {"SELECT * FROM no_such_table"};
  async_pool failing(io.get_executor(), ep.config(), {}, ao);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    try {
      co_await failing.async_acquire(asio::use_awaitable);
      ADD_FAILURE() << "a failing setup statement gave a connection";
    } catch (const sql_error& e) {
      EXPECT_EQ(e.sqlstate(), std::string("42P01"));
    }
  });
  EXPECT_EQ(failing.stats().open, 0u);
}

}  // namespace
}  // namespace dsql

namespace dsql {
namespace {

// A connect refused for rate (53400) is retried after a backoff, unseen by the acquirer while
// its timeout allows, as with dsql::pool.
TEST(AsyncPoolQuotas, ARateRefusalIsRetriedWithinTheAcquireTimeout) {
  test::local_endpoint::options o;
  // One connection, then one every 5 s: the pool's first connect is refused however slow this
  // machine is.
  o.extra_args = {"--connection-rate", "0.2", "--connection-burst", "1"};
  test::local_endpoint ep(o);
  connection first = connect(ep.config());
  pool_options po;
  po.acquire_timeout = std::chrono::seconds(60);
  long long got = 0;
  std::string error;
  std::uint64_t refused = 0;
  {
    asio::io_context io;
    dsql::async_pool pool(io.get_executor(), ep.config(), po);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          try {
            auto l = co_await pool.async_acquire(asio::use_awaitable);
            got = number(co_await l->async_exec("SELECT 7", asio::use_awaitable));
          } catch (const std::exception& e) {
            error = e.what();
          }
        },
        asio::detached);
    io.run();
    refused = pool.stats().rate_limited;
  }
  EXPECT_EQ(error, "");
  EXPECT_EQ(got, 7);
  EXPECT_GE(refused, 1u);
}

}  // namespace
}  // namespace dsql
