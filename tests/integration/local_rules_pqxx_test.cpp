// A representative subset of DSQL's rules, as `dsql local` applies them, seen through libpqxx
// (the dsql::pqxx adapter): what a libpqxx user meets with pqxx::work, nontransaction,
// subtransaction and isolation levels. The full set, through the connector, is in the other
// local_rules_*_test.cpp files.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "dsql/pqxx.hpp"
#include "local_rules.hpp"
#include "support/fast_retry.hpp"

namespace dsql::test {
namespace {

::testing::AssertionResult pqxx_error_is(const std::string& got_state, const std::string& what,
                                         std::string_view sqlstate, std::string_view message) {
  if (got_state == sqlstate && what.find(message) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "failed with " << got_state << ": " << what
                                       << "\n  expected " << sqlstate << ": " << message;
}

// fn throws libpqxx's error for this SQLSTATE, whose text holds `message`.
template <class Fn>
::testing::AssertionResult pqxx_fails_with(Fn&& fn, std::string_view sqlstate,
                                           std::string_view message) {
  try {
    fn();
  } catch (const pqxx::sql_error& e) {
    return pqxx_error_is(e.sqlstate(), e.what(), sqlstate, message);
  } catch (const pqxx::serialization_failure& e) {
    // libpqxx 6 makes this one no sql_error (7 does), and keeps no SQLSTATE: it is 40001's.
    return pqxx_error_is("40001", e.what(), sqlstate, message);
  }
  return ::testing::AssertionFailure() << "succeeded; expected " << sqlstate << ": " << message;
}

class PqxxRules : public shared_endpoint<PqxxRules> {
 protected:
  static std::unique_ptr<pqxx::connection> connect() { return pqxx_connect(ep().config()); }
  static std::string table(pqxx::connection& c) {
    const std::string name = fresh_name("pqxx");
    pqxx::nontransaction n(c);
    n.exec("CREATE TABLE " + name + " (id int PRIMARY KEY, n int NOT NULL)");
    n.exec("INSERT INTO " + name + " VALUES (1, 0)");
    return name;
  }
  static int count(pqxx::connection& c, const std::string& sql) {
    pqxx::nontransaction n(c);
    return n.exec(sql).at(0).at(0).as<int>();
  }
};

TEST_F(PqxxRules, AWorkHoldsOneDdlAndNoDmlBesideIt) {
  auto c = connect();
  const std::string t = table(*c);
  const std::string created = fresh_name("pqxx_ddl");
  {
    pqxx::work w(*c);
    w.exec("CREATE TABLE " + created + " (id int)");
    EXPECT_TRUE(pqxx_fails_with([&] { w.exec("INSERT INTO " + t + " VALUES (2, 0)"); }, "0A000",
                                "ddl and dml are not supported in the same transaction"));
  }
  {
    pqxx::work w(*c);
    w.exec("CREATE VIEW " + fresh_name("pqxx_view") + " AS SELECT 1 AS x");
    EXPECT_TRUE(pqxx_fails_with([&] { w.exec("CREATE TABLE " + created + " (id int)"); }, "0A000",
                                "multiple ddl statements not supported in a transaction"));
  }
  EXPECT_EQ(count(*c, "SELECT count(*) FROM pg_class WHERE relname = '" + created + "'"), 0);
  // One DDL, committed.
  {
    pqxx::work w(*c);
    w.exec("CREATE TABLE " + created + " (id int)");
    w.commit();
  }
  EXPECT_EQ(count(*c, "SELECT count(*) FROM " + created), 0);
}

TEST_F(PqxxRules, CreateIndexAsyncAnswersAJobId) {
  auto c = connect();
  const std::string t = table(*c);
  pqxx::nontransaction n(*c);
  EXPECT_TRUE(pqxx_fails_with([&] { n.exec("CREATE INDEX " + t + "_n ON " + t + " (n)"); }, "0A000",
                              "unsupported mode. please use CREATE INDEX ASYNC."));
  const pqxx::result r = n.exec("CREATE INDEX ASYNC " + t + "_n ON " + t + " (n)");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(std::string(r.column_name(0)), "job_id");
  const std::string job = r[0][0].as<std::string>();
  EXPECT_EQ(job.size(), 26u);
  const pqxx::result waited = n.exec("CALL sys.wait_for_job(" + n.quote(job) + ")");
  ASSERT_EQ(waited.size(), 1u);
  EXPECT_TRUE(waited[0][0].as<bool>());
}

TEST_F(PqxxRules, WaitForJobIsRefusedInsideAWork) {
  auto c = connect();
  const std::string t = table(*c);
  std::string job;
  {
    pqxx::nontransaction n(*c);
    job = n.exec("CREATE INDEX ASYNC " + t + "_w ON " + t + " (n)")[0][0].as<std::string>();
  }
  {
    pqxx::work w(*c);
    EXPECT_TRUE(pqxx_fails_with([&] { w.exec("CALL sys.wait_for_job(" + w.quote(job) + ")"); },
                                "0A000",
                                "CALL sys.wait_for_job not supported in transaction block"));
  }
  pqxx::nontransaction n(*c);
  EXPECT_TRUE(n.exec("CALL sys.wait_for_job(" + n.quote(job) + ")")[0][0].as<bool>());
}

TEST_F(PqxxRules, ASerializableTransactionIsRefused) {
  {
    auto c = connect();
    EXPECT_TRUE(
        pqxx_fails_with([&] { pqxx::transaction<pqxx::isolation_level::serializable> s(*c); },
                        "0A000", "Unsupported isolation level: SERIALIZABLE"));
  }
  // pqxx::work's plain BEGIN is DSQL's repeatable read.
  auto c = connect();
  pqxx::work w(*c);
  EXPECT_EQ(w.exec("SHOW transaction_isolation")[0][0].as<std::string>(), "repeatable read");
  w.commit();
}

TEST_F(PqxxRules, ASubtransactionIsASavepointAndRefused) {
  auto c = connect();
  pqxx::work w(*c);
  EXPECT_TRUE(pqxx_fails_with(
      [&] {
        pqxx::subtransaction s(w, "inner");
        s.exec("SELECT 1");
      },
      "0A000", "unsupported transaction statement: SAVEPOINT"));
}

TEST_F(PqxxRules, DialectRefusalsAbortTheWork) {
  auto c = connect();
  const std::string t = table(*c);
  {
    pqxx::work w(*c);
    EXPECT_TRUE(pqxx_fails_with([&] { w.exec("TRUNCATE " + t); }, "0A000",
                                "unsupported statement: Truncate"));
    // libpqxx itself then refuses to use the work; it can only be aborted.
    EXPECT_THROW(w.exec("SELECT 1"), pqxx::usage_error);
  }
  pqxx::work w(*c);
  EXPECT_EQ(w.exec("DELETE FROM " + t).affected_rows(), 1u);
  EXPECT_TRUE(
      pqxx_fails_with([&] { w.exec("SELECT n FROM " + t + " FOR SHARE"); }, "0A000",
                      "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported"));
}

TEST_F(PqxxRules, SettingsAreRefusedAsOnTheConnector) {
  auto c = connect();
  pqxx::nontransaction n(*c);
  EXPECT_TRUE(
      pqxx_fails_with([&] { n.exec("SET statement_timeout = 0"); }, "0A000",
                      "setting configuration parameter \"statement_timeout\" not supported"));
  n.exec("SET search_path = public");
  EXPECT_EQ(n.exec("SHOW search_path")[0][0].as<std::string>(), "public");
  EXPECT_EQ(n.exec("SELECT version()")[0][0].as<std::string>(), "PostgreSQL 16");
}

TEST_F(PqxxRules, TheRowLimitFailsTheStatementThatCrossesIt) {
  auto c = connect();
  const std::string t = table(*c);
  {
    pqxx::work w(*c);
    EXPECT_TRUE(pqxx_fails_with(
        [&] { w.exec("INSERT INTO " + t + " SELECT g, g FROM generate_series(2, 3002) g"); },
        "54000", "transaction row limit exceeded"));
  }
  pqxx::work w(*c);
  EXPECT_EQ(
      w.exec("INSERT INTO " + t + " SELECT g, g FROM generate_series(2, 3001) g").affected_rows(),
      3000u);
  w.commit();
  EXPECT_EQ(count(*c, "SELECT count(*) FROM " + t), 3001);
}

TEST_F(PqxxRules, TheSecondCommitOfAConflictLosesAndRunTransactionRetriesIt) {
  auto first = connect(), second = connect();
  const std::string t = table(*first);
  {
    pqxx::work a(*first);
    a.exec("UPDATE " + t + " SET n = 1 WHERE id = 1");
    pqxx::work b(*second);
    EXPECT_EQ(b.exec("UPDATE " + t + " SET n = 2 WHERE id = 1").affected_rows(), 1u);
    b.commit();
    EXPECT_TRUE(pqxx_fails_with([&] { a.commit(); }, "40001",
                                "change conflicts with another transaction (OC000)"));
  }
  EXPECT_EQ(count(*first, "SELECT n FROM " + t + " WHERE id = 1"), 2);

  // The adapter's retry runs the whole work again.
  pqxx_pool p(ep().config());
  int attempts = 0;
  run_transaction(
      p,
      [&](pqxx::work& w) {
        ++attempts;
        w.exec("UPDATE " + t + " SET n = n + 1 WHERE id = 1");
        if (attempts == 1) {
          pqxx::nontransaction(*second).exec("UPDATE " + t + " SET n = n + 100 WHERE id = 1");
        }
      },
      fast_retry());
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(count(*first, "SELECT n FROM " + t + " WHERE id = 1"), 103);
}

TEST(PqxxQuotas, ConnectionsOverTheQuotaAreAConnectionError) {
  local_endpoint::options o;
  o.extra_args = {"--max-connections", "1"};
  local_endpoint ep(o);
  auto held = pqxx_connect(ep.config());
  try {
    pqxx_connect(ep.config());
    ADD_FAILURE() << "a second connection was admitted over --max-connections 1";
  } catch (const connection_error& e) {
    EXPECT_NE(std::string(e.what()).find("too many open connections"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(pqxx::nontransaction(*held).exec("SELECT 1")[0][0].as<int>(), 1);
}

}  // namespace
}  // namespace dsql::test
