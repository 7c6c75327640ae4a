// async_run_transaction against `dsql local`: injected conflicts, persistent conflicts, other
// errors, a hundred coroutines on one counter, cancellation during a backoff.
#include <gtest/gtest.h>

#include "local_endpoint.hpp"
#include "support/async.hpp"
#include "support/fast_retry.hpp"

namespace dsql {
namespace {

using std::chrono::milliseconds;
using test::fast_retry;
using test::number;
using test::run_coroutine;

class AsyncTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connection c = connect(ep.config());
    c.exec("CREATE TABLE IF NOT EXISTS tx_counter (id int PRIMARY KEY, v bigint)");
    c.exec("INSERT INTO tx_counter VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET v = 0");
    c.exec("CREATE TABLE IF NOT EXISTS tx_items (id int PRIMARY KEY, note text)");
  }

  long long scalar(const std::string& sql) {
    connection c = connect(ep.config());
    return std::stoll(std::string(c.exec(sql).value(0, 0)));
  }

  test::local_endpoint ep;
  asio::io_context io;
};

TEST_F(AsyncTransactionTest, InjectedCommitConflictsAreRetriedOnFreshLeases) {
  connect(ep.config()).exec("DSQL LOCAL FAIL NEXT COMMIT WITH OC000 TIMES 2");
  async_pool pool(io.get_executor(), ep.config());
  std::vector<retry_event> events;
  auto ro = fast_retry();
  ro.on_retry = [&](const retry_event& e) { events.push_back(e); };
  int calls = 0;
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    const std::string value = co_await async_run_transaction(
        pool,
        [&](async_connection& c) -> asio::awaitable<std::string> {
          ++calls;
          EXPECT_TRUE(c.in_transaction());
          co_await c.async_exec("INSERT INTO tx_items VALUES (1, 'once')", asio::use_awaitable);
          co_return "done";
        },
        ro, asio::use_awaitable);
    EXPECT_EQ(value, std::string("done"));
  });
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].code, std::string("OC000"));
  EXPECT_EQ(events[0].sqlstate, std::string("40001"));
  EXPECT_EQ(events[1].attempt, 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM tx_items"), 1);
}

TEST_F(AsyncTransactionTest, AnInjectedSchemaConflictIsRetried) {
  connect(ep.config()).exec("DSQL LOCAL FAIL NEXT STATEMENT WITH OC001");
  async_pool pool(io.get_executor(), ep.config());
  std::vector<std::string> codes;
  auto ro = fast_retry();
  ro.on_retry = [&](const retry_event& e) { codes.push_back(e.code); };
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    co_await async_run_transaction(
        pool,
        [](async_connection& c) -> asio::awaitable<void> {
          co_await c.async_exec("INSERT INTO tx_items VALUES (2, 'schema')", asio::use_awaitable);
        },
        ro, asio::use_awaitable);
  });
  EXPECT_EQ(codes, std::vector<std::string>{"OC001"});
  EXPECT_EQ(scalar("SELECT count(*) FROM tx_items WHERE id = 2"), 1);
}

TEST_F(AsyncTransactionTest, APersistentConflictEndsInATypedError) {
  connect(ep.config()).exec("DSQL LOCAL FAIL NEXT COMMIT WITH OC000 TIMES 10");
  async_pool pool(io.get_executor(), ep.config());
  int calls = 0;
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    try {
      co_await async_run_transaction(
          pool,
          [&](async_connection& c) -> asio::awaitable<void> {
            ++calls;
            co_await c.async_exec("INSERT INTO tx_items VALUES (4, 'never')", asio::use_awaitable);
          },
          fast_retry(3), asio::use_awaitable);
      ADD_FAILURE() << "expected occ_conflict_error";
    } catch (const occ_conflict_error& e) {
      EXPECT_EQ(e.attempts(), 3);
      EXPECT_EQ(e.code(), std::string("OC000"));
      EXPECT_EQ(e.sqlstate(), std::string("40001"));
    }
  });
  EXPECT_EQ(calls, 3);
  connect(ep.config()).exec("DSQL LOCAL RESET FAULTS");
  EXPECT_EQ(scalar("SELECT count(*) FROM tx_items WHERE id = 4"), 0);
}

TEST_F(AsyncTransactionTest, OtherErrorsSurfaceAtOnceAfterRollback) {
  connect(ep.config()).exec("INSERT INTO tx_items VALUES (5, 'first')");
  async_pool pool(io.get_executor(), ep.config());
  int calls = 0, retries = 0;
  auto ro = fast_retry();
  ro.on_retry = [&](const retry_event&) { ++retries; };
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    try {
      co_await async_run_transaction(
          pool,
          [&](async_connection& c) -> asio::awaitable<void> {
            ++calls;
            co_await c.async_exec("INSERT INTO tx_items VALUES (6, 'rolled back')",
                                  asio::use_awaitable);
            co_await c.async_exec("INSERT INTO tx_items VALUES (5, 'duplicate')",
                                  asio::use_awaitable);
          },
          ro, asio::use_awaitable);
      ADD_FAILURE() << "expected sql_error";
    } catch (const occ_conflict_error&) {
      ADD_FAILURE() << "not a conflict";
    } catch (const sql_error& e) {
      EXPECT_EQ(e.sqlstate(), std::string("23505"));
    }
    EXPECT_THROW(co_await async_run_transaction(
                     pool,
                     [&](async_connection&) -> asio::awaitable<int> {
                       ++calls;
                       throw std::invalid_argument("the caller's own error");
                       co_return 0;
                     },
                     ro, asio::use_awaitable),
                 std::invalid_argument);
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(retries, 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM tx_items WHERE id = 6"), 0);
}

TEST_F(AsyncTransactionTest, AHundredCoroutinesIncrementOneCounterExactly) {
  pool_options po;
  po.max_size = 8;
  po.acquire_timeout = std::chrono::minutes(10);  // 100 tasks queue for 8 connections
  async_pool pool(io.get_executor(), ep.config(), po);
  retry_options ro;
  ro.max_attempts = 10000;  // a hot counter is the worst case: every task must finish
  ro.initial_backoff = milliseconds(1);
  ro.max_backoff = milliseconds(50);
  std::atomic<int> retries{0};
  ro.on_retry = [&](const retry_event&) { ++retries; };
  int committed = 0, failed = 0;
  for (int t = 0; t < 100; ++t) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await async_run_transaction(
              pool,
              [](async_connection& c) -> asio::awaitable<void> {
                // Read, then write what was read plus one: a lost update would show.
                auto r = co_await c.async_exec("SELECT v FROM tx_counter WHERE id = 1",
                                               asio::use_awaitable);
                const std::vector<std::optional<std::string>> next{std::to_string(number(r) + 1)};
                co_await c.async_exec_params("UPDATE tx_counter SET v = $1 WHERE id = 1", next,
                                             asio::use_awaitable);
              },
              ro, asio::use_awaitable);
          ++committed;
        },
        [&](std::exception_ptr e) {
          if (e) ++failed;
        });
  }
  io.run();
  EXPECT_EQ(committed, 100);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(scalar("SELECT v FROM tx_counter WHERE id = 1"), 100);
  std::cout << "conflicts retried: " << retries.load() << "\n";
}

TEST_F(AsyncTransactionTest, CancellationDuringABackoffEndsTheTransaction) {
  connect(ep.config()).exec("DSQL LOCAL FAIL NEXT COMMIT WITH OC000 TIMES 10");
  async_pool pool(io.get_executor(), ep.config());
  retry_options ro;
  ro.initial_backoff = std::chrono::seconds(600);  // only the cancellation can end the wait
  ro.max_backoff = std::chrono::seconds(600);
  asio::cancellation_signal signal;
  ro.on_retry = [&](const retry_event&) {
    asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
  };
  std::exception_ptr outcome;
  async_run_transaction(
      pool,
      [](async_connection& c) -> asio::awaitable<void> {
        co_await c.async_exec("INSERT INTO tx_items VALUES (8, 'cancelled')", asio::use_awaitable);
      },
      ro, asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) { outcome = e; }));
  io.run();
  ASSERT_TRUE(outcome);
  EXPECT_THROW(std::rethrow_exception(outcome), cancelled_error);
  connect(ep.config()).exec("DSQL LOCAL RESET FAULTS");
  EXPECT_EQ(scalar("SELECT count(*) FROM tx_items WHERE id = 8"), 0);
  EXPECT_EQ(pool.stats().in_use, 0u);
}

}  // namespace
}  // namespace dsql
