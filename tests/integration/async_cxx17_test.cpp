// dsql::async from C++17: completion callbacks, futures from another thread, and a
// callback-style transaction body. This file is compiled without coroutines.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "local_endpoint.hpp"
#include "support/async.hpp"
#include "support/fast_retry.hpp"

static_assert(__cplusplus < 202002L, "this test is the C++17 user's view");

namespace dsql {
namespace {

using test::number;
TEST(AsyncCxx17, CallbacksChainAConnectAndStatements) {
  test::local_endpoint ep;
  asio::io_context io;
  long long seen = 0;
  std::exception_ptr failure;
  async_connection conn;
  async_connect(io.get_executor(), ep.config(), [&](std::exception_ptr e, async_connection c) {
    if (e) {
      failure = e;
      return;
    }
    conn = std::move(c);
    conn.async_exec_params("SELECT $1::int + 1", {"41"}, [&](std::exception_ptr e2, result r) {
      failure = e2;
      if (!e2) seen = number(r);
    });
  });
  io.run();
  ASSERT_FALSE(failure);
  EXPECT_EQ(seen, 42);
}

TEST(AsyncCxx17, FuturesFromAnotherThread) {
  test::local_endpoint ep;
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  {
    pool_options po;
    po.max_size = 2;
    async_pool pool(io.get_executor(), ep.config(), po);
    async_lease lease = pool.async_acquire(asio::use_future).get();
    result r = lease->async_exec("SELECT 9", asio::use_future).get();
    EXPECT_EQ(number(r), 9);
    auto results =
        lease->async_pipeline({{"SELECT 1", {}}, {"SELECT $1::int", {"2"}}}, asio::use_future)
            .get();
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(number(results[1]), 2);
    EXPECT_THROW(lease->async_exec("SELECT * FROM missing", asio::use_future).get(), sql_error);
  }
  work.reset();
  runner.join();
}

TEST(AsyncCxx17, ACallbackBodyRetriesAnInjectedConflict) {
  test::local_endpoint ep;
  connect(ep.config()).exec("CREATE TABLE IF NOT EXISTS cb_items (id int PRIMARY KEY, v bigint)");
  connect(ep.config()).exec("DSQL LOCAL FAIL NEXT COMMIT WITH OC000");
  asio::io_context io;
  async_pool pool(io.get_executor(), ep.config());
  int calls = 0;
  std::exception_ptr outcome = std::make_exception_ptr(std::logic_error("never completed"));
  async_run_transaction(
      pool,
      [&](async_connection& c, transaction_done done) {
        ++calls;
        c.async_exec("INSERT INTO cb_items VALUES (1, 1)",
                     [done = std::move(done)](std::exception_ptr e, result) mutable { done(e); });
      },
      test::fast_retry(), [&](std::exception_ptr e) { outcome = e; });
  // A body that forgets to report ends its attempt with an error instead of hanging.
  std::exception_ptr forgotten;
  async_run_transaction(
      pool, [](async_connection&, transaction_done) {}, test::fast_retry(1),
      [&](std::exception_ptr e) { forgotten = e; });
  io.run();
  EXPECT_FALSE(outcome);
  EXPECT_EQ(calls, 2);
  ASSERT_TRUE(forgotten);
  EXPECT_THROW(std::rethrow_exception(forgotten), error);
  EXPECT_EQ(std::stoll(std::string(
                connect(ep.config()).exec("SELECT count(*) FROM cb_items").value(0, 0))),
            1);
}

}  // namespace
}  // namespace dsql
