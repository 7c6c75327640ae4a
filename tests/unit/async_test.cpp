// dsql::async without a server: what happens when nothing answers, or nothing accepts.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/async.hpp"
#include "support/sockets.hpp"

namespace dsql {
namespace {

using std::chrono::milliseconds;

config loopback_config(std::uint16_t port, std::shared_ptr<credentials_provider> creds = {}) {
  config cfg;
  cfg.host = "127.0.0.1";
  cfg.region = "us-east-1";
  cfg.port = port;
  cfg.sslrootcert = "system";
  cfg.connect_timeout = std::chrono::seconds(1);
  cfg.credentials =
      creds ? std::move(creds)
            : std::make_shared<static_credentials_provider>(credentials{
                  "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"});
  return cfg;
}

TEST(AsyncConnect, ARefusedPortIsAConnectionErrorNamingTheEndpoint) {
  asio::io_context io;
  const auto port = test::free_loopback_port();
  test::run_coroutine(io, [&]() -> asio::awaitable<void> {
    try {
      co_await async_connect(io.get_executor(), loopback_config(port), asio::use_awaitable);
      ADD_FAILURE() << "a closed port accepted a connection";
    } catch (const auth_error& e) {
      ADD_FAILURE() << "a closed port is not a refused login: " << e.what();
    } catch (const connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
    }
  });
}

TEST(AsyncConnect, ConnectTimeoutBoundsAServerThatNeverAnswers) {
  test::loopback_listener silent;  // completes TCP handshakes, then says nothing
  asio::io_context io;
  test::run_coroutine(io, [&]() -> asio::awaitable<void> {
    try {
      co_await async_connect(io.get_executor(), loopback_config(silent.port()),
                             asio::use_awaitable);
      ADD_FAILURE() << "connected to a server that never answers";
    } catch (const connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
    }
  });
}

TEST(AsyncConnect, CancellationEndsAConnectAtOnce) {
  test::loopback_listener silent;
  asio::io_context io;
  config cfg = loopback_config(silent.port());
  cfg.connect_timeout = std::chrono::seconds(600);  // only the cancellation can end it
  asio::cancellation_signal signal;
  std::exception_ptr outcome;
  async_connect(
      io.get_executor(), cfg,
      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, async_connection c) {
        outcome = e;
        EXPECT_FALSE(c);
      }));
  asio::steady_timer later(io, milliseconds(50));
  later.async_wait([&](const auto&) { signal.emit(asio::cancellation_type::terminal); });
  io.run();
  ASSERT_TRUE(outcome);
  EXPECT_THROW(std::rethrow_exception(outcome), cancelled_error);
}

TEST(AsyncConnect, CredentialsAreNeverResolvedOnTheCallersThread) {
  std::atomic<std::thread::id> resolved_on{};
  auto creds = std::make_shared<function_credentials_provider>("test", [&] {
    resolved_on = std::this_thread::get_id();
    return credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"};
  });
  asio::io_context io;
  const auto port = test::free_loopback_port();
  std::exception_ptr outcome;
  async_connect(io.get_executor(), loopback_config(port, creds),
                [&](std::exception_ptr e, async_connection) { outcome = e; });
  io.run();
  EXPECT_TRUE(outcome);  // nothing listens: the connect itself fails, after signing
  EXPECT_NE(resolved_on.load(), std::thread::id());
  EXPECT_NE(resolved_on.load(), std::this_thread::get_id());
}

TEST(AsyncConnection, AnEmptyConnectionFailsWithoutBlocking) {
  asio::io_context io;
  test::run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection none;
    EXPECT_FALSE(none.is_open());
    EXPECT_EQ(none.raw(), nullptr);
    EXPECT_THROW(co_await none.async_exec("SELECT 1", asio::use_awaitable), connection_error);
  });
}

TEST(AsyncPool, RejectsTheBlockingHookAndBadOptions) {
  asio::io_context io;
  pool_options o;
  o.after_connect = [](connection&) {};
  EXPECT_THROW(async_pool(io.get_executor(), loopback_config(1), o), config_error);
  o = {};
  o.max_size = 0;
  EXPECT_THROW(async_pool(io.get_executor(), loopback_config(1), o), config_error);
}

// After one failed connect, no other starts during the test: the backoff is longer than any
// stall of the machine.
pool_options one_failure_then_backoff() {
  pool_options o;
  o.connect_backoff_initial = std::chrono::seconds(20);
  o.connect_backoff_max = std::chrono::seconds(20);
  return o;
}

TEST(AsyncPool, ConnectFailureReachesTheAcquirerThenBackoffTimesOutTheNext) {
  asio::io_context io;
  const pool_options o = one_failure_then_backoff();
  async_pool pool(io.get_executor(), loopback_config(test::free_loopback_port()), o);
  test::run_coroutine(io, [&]() -> asio::awaitable<void> {
    EXPECT_THROW(co_await pool.async_acquire(asio::use_awaitable), connection_error);
    try {
      co_await pool.async_acquire(milliseconds(50), asio::use_awaitable);
      ADD_FAILURE() << "expected pool_timeout_error";
    } catch (const pool_timeout_error& e) {
      EXPECT_NE(std::string(e.what()).find("last connect failure"), std::string::npos) << e.what();
    }
  });
  const auto s = pool.stats();
  EXPECT_EQ(s.failed_connects, 1u);
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.waits, 1u);
  EXPECT_EQ(s.acquires, 2u);
  EXPECT_EQ(s.open, 0u);
}

TEST(AsyncPool, CancelledAndClosedAcquiresLeaveNothingBehind) {
  asio::io_context io;
  const pool_options o = one_failure_then_backoff();
  async_pool pool(io.get_executor(), loopback_config(test::free_loopback_port()), o);
  std::vector<std::exception_ptr> outcomes;
  const auto record = [&](std::exception_ptr e, async_lease) { outcomes.push_back(e); };
  pool.async_acquire(record);  // its connect fails and starts the backoff
  io.run();
  asio::cancellation_signal signal;
  pool.async_acquire(std::chrono::seconds(60), asio::bind_cancellation_slot(signal.slot(), record));
  pool.async_acquire(std::chrono::seconds(60), record);
  asio::steady_timer later(io, milliseconds(20));
  later.async_wait([&](const auto&) {
    signal.emit(asio::cancellation_type::total);  // leaving the queue has no side effects
    asio::post(io, [&] { pool.close(); });        // after the cancellation has taken effect
  });
  io.restart();
  io.run();  // returns: neither a waiter's timer nor the backoff keeps the context busy
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_THROW(std::rethrow_exception(outcomes[1]), cancelled_error);
  EXPECT_THROW(std::rethrow_exception(outcomes[2]), pool_closed_error);
  EXPECT_TRUE(pool.closed());
  std::exception_ptr after;
  pool.async_acquire([&](std::exception_ptr e, async_lease) { after = e; });
  io.restart();
  io.run();
  EXPECT_THROW(std::rethrow_exception(after), pool_closed_error);
}

TEST(AsyncPool, AMovedPoolKeepsItsStateAndTheMovedFromOneIsClosed) {
  asio::io_context io;
  const pool_options o = one_failure_then_backoff();
  async_pool first(io.get_executor(), loopback_config(test::free_loopback_port()), o);
  first.async_acquire([](std::exception_ptr, async_lease) {});  // one failed connect
  io.run();
  async_pool second(std::move(first));
  EXPECT_EQ(second.stats().failed_connects, 1u);
  EXPECT_TRUE(first.closed());  // NOLINT(bugprone-use-after-move): what the test is about
  EXPECT_THROW(first.stats(), pool_closed_error);
  EXPECT_THROW(first.async_acquire([](std::exception_ptr, async_lease) {}), pool_closed_error);
  first.close();  // still answers
  async_pool third(io.get_executor(), loopback_config(1), o);
  third = std::move(second);
  EXPECT_FALSE(third.closed());
  EXPECT_EQ(third.stats().failed_connects, 1u);
}

TEST(AsyncTransaction, BadRetryOptionsAreAConfigError) {
  asio::io_context io;
  async_pool pool(io.get_executor(), loopback_config(1));
  retry_options bad;
  bad.max_attempts = 0;
  test::run_coroutine(io, [&]() -> asio::awaitable<void> {
    EXPECT_THROW(co_await async_run_transaction(
                     pool, [](async_connection&) -> asio::awaitable<void> { co_return; }, bad,
                     asio::use_awaitable),
                 config_error);
  });
}

}  // namespace
}  // namespace dsql
