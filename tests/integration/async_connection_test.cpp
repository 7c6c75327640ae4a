// async_connect and async_connection against `dsql local`: statements, errors, pipelines, a
// refused login, timeouts and cancellation.
#include <gtest/gtest.h>

#include "local_endpoint.hpp"
#include "support/async.hpp"
#include "support/tcp_relay.hpp"

namespace dsql {
namespace {

using std::chrono::milliseconds;
using test::number;
using test::run_coroutine;

class AsyncConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connection c = connect(ep.config());
    c.exec("CREATE TABLE IF NOT EXISTS async_items (id int PRIMARY KEY, v bigint)");
  }

  // A connection from the endpoint's config (host localhost: the resolver path).
  asio::awaitable<async_connection> open(config cfg) {
    co_return co_await async_connect(io.get_executor(), cfg, asio::use_awaitable);
  }

  test::local_endpoint ep;
  asio::io_context io;
};

TEST_F(AsyncConnectionTest, RunsStatementsWithAndWithoutParameters) {
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection c = co_await open(ep.config());
    EXPECT_TRUE(c.is_open());
    EXPECT_EQ(number(co_await c.async_exec("SELECT 1", asio::use_awaitable)), 1);
    // Several statements in one simple query: the last result, as connection::exec gives.
    auto r = co_await c.async_exec("SELECT 1; SELECT 2", asio::use_awaitable);
    EXPECT_EQ(number(r), 2);
    // g++ 12 rejects a braced list inside a co_await expression: name the parameters first.
    const std::vector<std::optional<std::string>> one_and_null{"1", std::nullopt}, one{"1"};
    r = co_await c.async_exec_params("INSERT INTO async_items VALUES ($1, $2)", one_and_null,
                                     asio::use_awaitable);
    EXPECT_EQ(r.affected_rows(), 1u);
    r = co_await c.async_exec_params("SELECT v IS NULL FROM async_items WHERE id = $1", one,
                                     asio::use_awaitable);
    EXPECT_EQ(r.value(0, 0), std::string("t"));
    co_await c.async_exec("BEGIN", asio::use_awaitable);
    EXPECT_TRUE(c.in_transaction());
    co_await c.async_exec("ROLLBACK", asio::use_awaitable);
    EXPECT_FALSE(c.in_transaction());
  });
}

TEST_F(AsyncConnectionTest, ConnectsToANumericAddressWithoutTheResolver) {
  config cfg = ep.config();
  cfg.host = "127.0.0.1";  // the endpoint accepts tokens signed for it
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection c = co_await open(cfg);
    EXPECT_EQ(number(co_await c.async_exec("SELECT 7", asio::use_awaitable)), 7);
  });
}

TEST_F(AsyncConnectionTest, AnSqlErrorKeepsItsSqlstateAndTheConnection) {
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection c = co_await open(ep.config());
    try {
      co_await c.async_exec("SELECT * FROM no_such_table", asio::use_awaitable);
      ADD_FAILURE() << "expected sql_error";
    } catch (const sql_error& e) {
      EXPECT_EQ(e.sqlstate(), std::string("42P01"));
    }
    EXPECT_TRUE(c.is_open());
    EXPECT_EQ(number(co_await c.async_exec("SELECT 3", asio::use_awaitable)), 3);
  });
}

TEST_F(AsyncConnectionTest, OneOperationAtATime) {
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection c = co_await open(ep.config());
    std::exception_ptr first, second;
    int done = 0;
    c.async_exec("SELECT 1", [&](std::exception_ptr e, result) { first = e, ++done; });
    c.async_exec("SELECT 2", [&](std::exception_ptr e, result) { second = e, ++done; });
    EXPECT_TRUE(c.busy());
    asio::steady_timer tick(io);
    while (done < 2) {
      tick.expires_after(milliseconds(1));
      co_await tick.async_wait(asio::use_awaitable);
    }
    EXPECT_FALSE(first);
    EXPECT_TRUE(second);
    try {
      if (second) std::rethrow_exception(second);
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find("another operation"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(c.busy());
    EXPECT_EQ(number(co_await c.async_exec("SELECT 3", asio::use_awaitable)), 3);
  });
}

TEST_F(AsyncConnectionTest, APipelineRunsATransactionInOneRoundTrip) {
  test::tcp_relay relay(ep.port());
  config cfg = ep.config();
  cfg.port = relay.port();
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection c = co_await open(cfg);
    std::vector<statement> tx{{"BEGIN", {}}};
    for (int i = 10; i < 15; ++i) {
      tx.push_back({"INSERT INTO async_items VALUES ($1, $2)", {std::to_string(i), "5"}});
    }
    tx.push_back({"COMMIT", {}});
    const auto before = relay.client_turns();
    auto results = co_await c.async_pipeline(tx, asio::use_awaitable);
    EXPECT_EQ(relay.client_turns() - before, 1u);
    EXPECT_EQ(results.size(), 7u);
    if (results.size() == 7) {
      EXPECT_EQ(results[3].affected_rows(), 1u);
      EXPECT_EQ(results[6].command_tag(), std::string("COMMIT"));
    }
    EXPECT_FALSE(c.in_transaction());
    // The same statements one by one: a round trip each.
    const auto sequential = relay.client_turns();
    co_await c.async_exec("BEGIN", asio::use_awaitable);
    for (int i = 20; i < 25; ++i) {
      const std::vector<std::optional<std::string>> id{std::to_string(i)};
      co_await c.async_exec_params("INSERT INTO async_items VALUES ($1, 5)", id,
                                   asio::use_awaitable);
    }
    co_await c.async_exec("COMMIT", asio::use_awaitable);
    EXPECT_EQ(relay.client_turns() - sequential, 7u);
    auto n =
        co_await c.async_exec("SELECT count(*) FROM async_items WHERE v = 5", asio::use_awaitable);
    EXPECT_EQ(number(n), 10);
  });
}

TEST_F(AsyncConnectionTest, APipelineStopsAtItsFirstError) {
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection c = co_await open(ep.config());
    co_await c.async_exec("INSERT INTO async_items VALUES (30, 1)", asio::use_awaitable);
    try {
      const std::vector<statement> three{{"INSERT INTO async_items VALUES (31, 1)", {}},
                                         {"INSERT INTO async_items VALUES (30, 1)", {}},
                                         {"INSERT INTO async_items VALUES (32, 1)", {}}};
      co_await c.async_pipeline(three, asio::use_awaitable);
      ADD_FAILURE() << "expected sql_error";
    } catch (const sql_error& e) {
      EXPECT_EQ(e.sqlstate(), std::string("23505"));
    }
    // One implicit transaction up to the pipeline's sync: nothing of it stayed.
    auto r = co_await c.async_exec("SELECT count(*) FROM async_items WHERE id IN (31, 32)",
                                   asio::use_awaitable);
    EXPECT_EQ(number(r), 0);
    EXPECT_FALSE(c.in_transaction());
  });
}

TEST_F(AsyncConnectionTest, AnInjectedSchemaConflictInAPipelineIsAnOccConflict) {
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection c = co_await open(ep.config());
    co_await c.async_exec("DSQL LOCAL FAIL NEXT STATEMENT WITH OC001", asio::use_awaitable);
    try {
      const std::vector<statement> select{{"SELECT 1", {}}};
      co_await c.async_pipeline(select, asio::use_awaitable);
      ADD_FAILURE() << "expected the injected conflict";
    } catch (const sql_error& e) {
      const auto info = classify_occ(e);
      EXPECT_TRUE(info) << e.what();
      if (info) {
        EXPECT_EQ(info->code, std::string("OC001"));
      }
    }
  });
}

TEST_F(AsyncConnectionTest, ARefusedLoginIsTheSameAuthErrorAsTheBlockingPath) {
  config cfg = ep.config();
  cfg.region = "eu-west-3";  // the endpoint is us-east-1: the server refuses the token
  std::string blocking_what, blocking_diagnosis;
  try {
    connect(cfg);
  } catch (const auth_error& e) {
    blocking_what = e.what();
    blocking_diagnosis = e.diagnosis();
  }
  ASSERT_FALSE(blocking_diagnosis.empty());
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    try {
      co_await open(cfg);
      ADD_FAILURE() << "login with a token for the wrong region was accepted";
    } catch (const auth_error& e) {
      EXPECT_EQ(e.diagnosis(), blocking_diagnosis);
      EXPECT_EQ(std::string(e.what()), blocking_what);
      EXPECT_EQ(e.server_message(), std::string("unable to accept connection, access denied"));
      EXPECT_EQ(std::string(e.what()).find(ep.secret_access_key()), std::string::npos);
      EXPECT_EQ(std::string(e.what()).find("X-Amz-Signature"), std::string::npos);
    }
  });
}

TEST_F(AsyncConnectionTest, ExecTimeoutClosesTheConnection) {
  test::tcp_relay relay(ep.port());
  config cfg = ep.config();
  cfg.port = relay.port();
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection c = co_await open(cfg);
    c.set_exec_timeout(milliseconds(200));
    relay.freeze(true);  // the server seems to hang
    EXPECT_THROW(co_await c.async_exec("SELECT 1", asio::use_awaitable), timeout_error);
    EXPECT_FALSE(c.is_open());
    relay.freeze(false);
  });
}

TEST_F(AsyncConnectionTest, CancellationClosesTheConnection) {
  test::tcp_relay relay(ep.port());
  config cfg = ep.config();
  cfg.port = relay.port();
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    async_connection c = co_await open(cfg);
    relay.freeze(true);
    asio::cancellation_signal signal;
    asio::steady_timer later(io, milliseconds(50));
    later.async_wait([&](const auto&) { signal.emit(asio::cancellation_type::terminal); });
    EXPECT_THROW(co_await c.async_exec(
                     "SELECT 1", asio::bind_cancellation_slot(signal.slot(), asio::use_awaitable)),
                 cancelled_error);
    EXPECT_FALSE(c.is_open());
    relay.freeze(false);
  });
}

}  // namespace
}  // namespace dsql
