#pragma once

// Helpers for the tests that prove DSQL's rules as `dsql local` applies them
// (local_rules_*_test.cpp): one endpoint per suite, fresh object names, and assertions on the
// SQLSTATE and message a statement fails with.

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "dsql/dsql.hpp"
#include "local_endpoint.hpp"
#include "support/libpq.hpp"

namespace dsql::test {

// One `dsql local` for every test of a suite (as connector_test.cpp does): a suite derives from
// shared_endpoint<Itself> and may hide endpoint_options() to pass options.
template <class Suite>
class shared_endpoint : public ::testing::Test {
 public:
  static local_endpoint::options endpoint_options() { return {}; }

 protected:
  static void SetUpTestSuite() {
    try {
      holder() = std::make_unique<local_endpoint>(Suite::endpoint_options());
    } catch (const std::exception& e) {
      start_error() = e.what();
    }
  }
  static void TearDownTestSuite() { holder().reset(); }
  void SetUp() override { ASSERT_TRUE(holder()) << "dsql local did not start: " << start_error(); }

  static local_endpoint& ep() { return *holder(); }
  static connection open() { return dsql::connect(ep().config()); }

 private:
  static std::unique_ptr<local_endpoint>& holder() {
    static std::unique_ptr<local_endpoint> endpoint;
    return endpoint;
  }
  static std::string& start_error() {
    static std::string text;
    return text;
  }
};

// A name no other test of this process uses: prefix_<n>.
inline std::string fresh_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "_" + std::to_string(++counter);
}

// The first value of the first row.
inline std::string scalar(connection& c, std::string_view sql) {
  result r = c.exec(sql);
  if (r.rows() == 0 || r.columns() == 0) return "<no rows>";
  return std::string(r.value(0, 0));
}

// The same on a connection made for the one query.
inline std::string scalar(connection&& c, std::string_view sql) {
  return scalar(c, sql);
}

// The error `fn` throws as a dsql::sql_error, or nullopt when it throws nothing. Other
// exceptions propagate.
inline std::optional<sql_error> sql_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const sql_error& e) {
    return e;
  }
  return std::nullopt;
}

inline ::testing::AssertionResult matches(const std::optional<sql_error>& e, std::string_view what,
                                          std::string_view sqlstate, std::string_view message) {
  if (!e) return ::testing::AssertionFailure() << what << " succeeded; expected " << sqlstate;
  if (e->sqlstate() != sqlstate || e->server_message() != message) {
    return ::testing::AssertionFailure()
           << what << "\n  failed with: " << e->sqlstate() << " " << e->server_message()
           << "\n  expected:    " << sqlstate << " " << message;
  }
  return ::testing::AssertionSuccess();
}

// EXPECT_TRUE(fails_with(c, "TRUNCATE t", "0A000", "unsupported statement: Truncate")):
// the statement fails with exactly this SQLSTATE and primary message.
inline ::testing::AssertionResult fails_with(connection& c, std::string_view sql,
                                             std::string_view sqlstate, std::string_view message) {
  return matches(sql_error_of([&] { c.exec(sql); }), sql, sqlstate, message);
}

// The same through the extended protocol (a Parse/Bind/Execute with parameters).
inline ::testing::AssertionResult params_fail_with(
    connection& c, std::string_view sql, const std::vector<std::optional<std::string>>& params,
    std::string_view sqlstate, std::string_view message) {
  return matches(sql_error_of([&] { c.exec_params(sql, params); }), sql, sqlstate, message);
}

// The statement succeeds (with the server's error in the failure message otherwise).
inline ::testing::AssertionResult runs(connection& c, std::string_view sql) {
  try {
    c.exec(sql);
  } catch (const sql_error& e) {
    return ::testing::AssertionFailure()
           << sql << "\n  failed with: " << e.sqlstate() << " " << e.server_message();
  }
  return ::testing::AssertionSuccess();
}

// What the server says to a statement in a failed transaction block.
inline constexpr std::string_view aborted_message =
    "current transaction is aborted, commands ignored until end of transaction block";

// The transaction block is aborted: statements get 25P02 and COMMIT answers ROLLBACK.
inline ::testing::AssertionResult transaction_aborted(connection& c) {
  auto e = matches(sql_error_of([&] { c.exec("SELECT 1"); }), "SELECT 1 after the failure", "25P02",
                   aborted_message);
  if (!e) return e;
  const std::string tag = c.exec("COMMIT").command_tag();
  if (tag != "ROLLBACK") return ::testing::AssertionFailure() << "COMMIT answered " << tag;
  return ::testing::AssertionSuccess();
}

// Whether a relation exists (to_regclass).
inline bool relation_exists(connection& c, const std::string& name) {
  return !c.exec_params("SELECT to_regclass($1)", {name}).is_null(0, 0);
}

// A raw libpq connect with verbose errors set before the server answers, so that a refusal's
// text carries its SQLSTATE ("FATAL:  53300: Unable to ..."), which libpq has no field for.
struct raw_connect_result {
  pgconn_ptr conn{nullptr, PQfinish};
  bool ok = false;
  std::string error;  // PQerrorMessage when !ok
};

inline raw_connect_result raw_connect(
    const std::vector<std::pair<std::string, std::string>>& params,
    std::chrono::seconds timeout = std::chrono::seconds(30)) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  raw_connect_result r;
  r.conn.reset(PQconnectStartParams(keys.data(), values.data(), 0));
  if (!r.conn) {
    r.error = "out of memory";
    return r;
  }
  PQsetErrorVerbosity(r.conn.get(), PQERRORS_VERBOSE);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  PostgresPollingStatusType state =
      PQstatus(r.conn.get()) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
    if (std::chrono::steady_clock::now() > deadline) {
      r.error = "timed out";
      return r;
    }
    // PQconnectPoll does not block; a short sleep between polls is enough for a test.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    state = PQconnectPoll(r.conn.get());
  }
  r.ok = state == PGRES_POLLING_OK;
  if (!r.ok) r.error = PQerrorMessage(r.conn.get());
  return r;
}

// The server's refusal as libpq shows it in verbose mode: "FATAL:  <sqlstate>: <message>".
inline std::string fatal_text(std::string_view sqlstate, std::string_view message) {
  return "FATAL:  " + std::string(sqlstate) + ": " + std::string(message);
}

// Repeats `attempt` until it returns true or `timeout` passes (for what becomes true
// asynchronously: a job's status, a freed connection slot). Returns the last answer.
inline bool eventually(const std::function<bool()>& attempt,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60),
                       std::chrono::milliseconds pause = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (attempt()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace dsql::test
