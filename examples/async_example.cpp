// Asynchronous transactions with optimistic-concurrency retry: many coroutines on one thread
// increment one counter through a pool of a few connections. Conflicting transactions fail with
// SQLSTATE 40001 (OC000) and are retried whole, on a fresh connection, after a backoff that waits
// on a timer: the thread keeps serving the other tasks meanwhile.
// Exits 0 only when the counter ends exactly at tasks * increments.

#include <dsql/async.hpp>

#include <future>
#include <iostream>

#include "example_env.hpp"

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio.hpp>
namespace asio = boost::asio;  // this build of dsql::async uses Boost.Asio
#else
#include <asio.hpp>
#endif

namespace {

constexpr int tasks = 50;
constexpr int increments = 4;

// One task: a few transactions, one after the other, each retried until it commits.
asio::awaitable<void> increment(dsql::async_pool& pool, const dsql::retry_options& retry) {
  for (int i = 0; i < increments; ++i) {
    co_await dsql::async_run_transaction(
        pool,
        [](dsql::async_connection& c) -> asio::awaitable<void> {
          const dsql::result r = co_await c.async_exec(
              "SELECT value FROM async_example WHERE id = 'counter'", asio::use_awaitable);
          // g++ 12 rejects a braced list inside a co_await expression: name it first.
          const std::vector<std::optional<std::string>> next{
              std::to_string(std::stoll(std::string(r.value(0, 0))) + 1)};
          co_await c.async_exec_params("UPDATE async_example SET value = $1 WHERE id = 'counter'",
                                       next, asio::use_awaitable);
        },
        retry, asio::use_awaitable);
  }
}

asio::awaitable<void> prepare(dsql::async_pool& pool) {
  dsql::async_lease conn = co_await pool.async_acquire(asio::use_awaitable);
  // DSQL runs DDL on its own, outside any transaction with DML.
  co_await conn->async_exec(
      "CREATE TABLE IF NOT EXISTS async_example (id text PRIMARY KEY, value bigint NOT NULL)",
      asio::use_awaitable);
  const std::vector<dsql::statement> reset{{"DELETE FROM async_example WHERE id = 'counter'", {}},
                                           {"INSERT INTO async_example VALUES ('counter', 0)", {}}};
  co_await conn->async_pipeline(reset, asio::use_awaitable);  // both in one round trip
}

asio::awaitable<std::string> counter(dsql::async_pool& pool) {
  dsql::async_lease conn = co_await pool.async_acquire(asio::use_awaitable);
  const dsql::result r = co_await conn->async_exec(
      "SELECT value FROM async_example WHERE id = 'counter'", asio::use_awaitable);
  co_return std::string(r.value(0, 0));
}

// Runs a coroutine to its end on `io` and returns its value (or rethrows its exception).
template <class T>
T run_on(asio::io_context& io, asio::awaitable<T> coroutine) {
  std::future<T> outcome = asio::co_spawn(io, std::move(coroutine), asio::use_future);
  io.restart();
  io.run();
  return outcome.get();
}

}  // namespace

int main() {
  try {
    asio::io_context io;  // one thread: this one
    dsql::pool_options options;
    options.max_size = 8;
    dsql::async_pool pool(io.get_executor(), examples::config_from_env(), options);
    run_on(io, prepare(pool));

    int retries = 0, failures = 0;
    dsql::retry_options retry;
    retry.max_attempts = 100;  // a hot counter is the worst case: let every task finish
    retry.initial_backoff = std::chrono::milliseconds(5);
    retry.max_backoff = std::chrono::milliseconds(200);
    retry.on_retry = [&](const dsql::retry_event&) { ++retries; };
    for (int t = 0; t < tasks; ++t) {
      asio::co_spawn(io, increment(pool, retry), [&](std::exception_ptr e) {
        if (!e) return;
        ++failures;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          std::cerr << x.what() << "\n";
        }
      });
    }
    io.restart();
    io.run();  // every task runs concurrently here; returns when all have finished

    const std::string value = run_on(io, counter(pool));
    std::cout << "counter = " << value << " (expected " << tasks * increments << "), " << retries
              << " conflicts retried, " << pool.stats().created << " connections\n";
    if (failures != 0 || value != std::to_string(tasks * increments)) {
      std::cerr << "async example failed\n";
      return 1;
    }
    std::cout << "async example passed\n";
    return 0;
  } catch (const dsql::error& e) {
    std::cerr << "async example failed: " << e.what() << "\n";
    return 1;
  }
}
