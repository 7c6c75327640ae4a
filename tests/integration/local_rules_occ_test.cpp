// DSQL's optimistic concurrency as `dsql local` applies it: writers never wait for each other
// past a short grace; of two transactions that wrote one row, one loses with 40001 OC000 (the
// first to commit wins when it commits while the other waits, else the idle first writer loses
// and learns it at its next statement or COMMIT); SELECT ... FOR UPDATE counts as a write; a
// committed catalog change (DDL, GRANT) fails another session's next statement once (40001,
// OC001). Where DSQL differs, the test says so (docs/local.md, "What still differs"). Only
// outcomes are asserted, never durations. Sources: reference/dsql-server.md §3.1-3.2,
// /tmp/dsql_research/ facts.md Topic 6, dsql_cluster_probes.json (occ).

#include <gtest/gtest.h>

#include <thread>

#include "local_rules.hpp"
#include "support/fast_retry.hpp"

namespace dsql::test {
namespace {

constexpr const char* oc000 = "change conflicts with another transaction (OC000)";
constexpr const char* oc001 = "schema has been updated by another transaction (OC001)";

class Occ : public shared_endpoint<Occ> {
 protected:
  // A table with rows (1, 0) and (2, 0), made before the test's sessions open, so that its DDL
  // is no news to them.
  static std::string counters() {
    connection c = open();
    const std::string t = fresh_name("occ");
    c.exec("CREATE TABLE " + t + " (id int PRIMARY KEY, n int NOT NULL)");
    c.exec("INSERT INTO " + t + " VALUES (1, 0), (2, 0)");
    return t;
  }
  static std::string value(connection& c, const std::string& t, int id = 1) {
    return scalar(c, "SELECT n FROM " + t + " WHERE id = " + std::to_string(id));
  }
  static std::string set(const std::string& t, int n, int id = 1) {
    return "UPDATE " + t + " SET n = " + std::to_string(n) + " WHERE id = " + std::to_string(id);
  }
};

// On DSQL neither UPDATE waits and a, committing first, wins. On PostgreSQL b's UPDATE waits on
// a's row lock; dsql local settles the wait after a short grace (docs/local.md, "What still
// differs"): when a commits within it, a is the first committer and b loses at once, at its
// UPDATE; when a stays idle, a loses (at its next statement or COMMIT) and b goes on.
TEST_F(Occ, TheFirstToCommitWinsWhenItCommitsWhileTheOtherWaits) {
  const std::string t = counters();
  connection a = open(), b = open();
  a.exec("BEGIN");
  EXPECT_EQ(a.exec(set(t, 1)).command_tag(), "UPDATE 1");
  b.exec("BEGIN");
  // a's COMMIT is sent right behind b's UPDATE, within the grace on any machine speed that
  // matters here: the statements go out before anything is read back.
  ASSERT_EQ(PQsendQuery(b.raw(), set(t, 2).c_str()), 1);
  EXPECT_TRUE(runs(a, "COMMIT"));
  std::string sqlstate, message;
  for (PGresult* r; (r = PQgetResult(b.raw())) != nullptr; PQclear(r)) {
    if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
      sqlstate = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      message = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    }
  }
  EXPECT_EQ(sqlstate, "40001");
  EXPECT_EQ(message, oc000);
  EXPECT_TRUE(runs(b, "ROLLBACK"));
  EXPECT_EQ(value(b, t), "1");
}

TEST_F(Occ, AnIdleFirstWriterLosesAndTheSecondGoesOn) {
  const std::string t = counters();
  connection a = open(), b = open();
  a.exec("BEGIN");
  EXPECT_EQ(a.exec(set(t, 1)).command_tag(), "UPDATE 1");
  b.exec("BEGIN");
  // a stays idle: past the grace it is taken to have lost, and b's UPDATE goes through.
  EXPECT_EQ(b.exec(set(t, 2)).command_tag(), "UPDATE 1");
  EXPECT_TRUE(runs(b, "COMMIT"));
  EXPECT_TRUE(fails_with(a, "COMMIT", "40001", oc000));
  EXPECT_FALSE(a.in_transaction());
  EXPECT_EQ(value(a, t), "2");
}
TEST_F(Occ, WhenTheSecondWriterCommitsFirstTheFirstLoses) {
  const std::string t = counters();
  connection a = open(), b = open();
  a.exec("BEGIN");
  EXPECT_EQ(a.exec(set(t, 1)).command_tag(), "UPDATE 1");
  b.exec("BEGIN");
  EXPECT_EQ(b.exec(set(t, 2)).command_tag(), "UPDATE 1");
  EXPECT_TRUE(runs(b, "COMMIT"));
  EXPECT_TRUE(fails_with(a, "COMMIT", "40001", oc000));
  EXPECT_FALSE(a.in_transaction());
  EXPECT_EQ(value(a, t), "2");
}

// On DSQL the loser runs on until its COMMIT. In dsql local its transaction was rolled back when
// it lost, so its next statement, whatever it is, fails with OC000 (docs/local.md).
TEST_F(Occ, TheLoserLearnsItAtItsNextStatement) {
  const std::string t = counters();
  connection a = open(), b = open();
  a.exec("BEGIN");
  a.exec(set(t, 1));
  b.exec("BEGIN");
  b.exec(set(t, 2));
  EXPECT_TRUE(fails_with(a, "SELECT n FROM " + t + " WHERE id = 1", "40001", oc000));
  EXPECT_TRUE(transaction_aborted(a));
  EXPECT_TRUE(runs(b, "COMMIT"));
  EXPECT_EQ(value(a, t), "2");
}
TEST_F(Occ, SelectForUpdateTakesPartInConflicts) {
  const std::string t = counters();
  connection a = open(), b = open();
  a.exec("BEGIN");
  EXPECT_EQ(scalar(a, "SELECT n FROM " + t + " WHERE id = 1 FOR UPDATE"), "0");
  b.exec("BEGIN");
  EXPECT_EQ(b.exec(set(t, 2)).command_tag(), "UPDATE 1");
  EXPECT_TRUE(runs(b, "COMMIT"));
  // a only read, but FOR UPDATE made the row part of what it must not lose.
  EXPECT_TRUE(fails_with(a, "COMMIT", "40001", oc000));

  // A plain read conflicts with nothing.
  a.exec("BEGIN");
  EXPECT_EQ(value(a, t), "2");
  EXPECT_TRUE(runs(b, set(t, 3)));
  EXPECT_EQ(value(a, t), "2");
  EXPECT_EQ(a.exec("COMMIT").command_tag(), "COMMIT");
}

TEST_F(Occ, WritesToDifferentRowsDoNotConflict) {
  const std::string t = counters();
  connection a = open(), b = open();
  a.exec("BEGIN");
  b.exec("BEGIN");
  EXPECT_EQ(a.exec(set(t, 10, 1)).command_tag(), "UPDATE 1");
  EXPECT_EQ(b.exec(set(t, 20, 2)).command_tag(), "UPDATE 1");
  EXPECT_EQ(b.exec("INSERT INTO " + t + " VALUES (3, 30)").command_tag(), "INSERT 0 1");
  EXPECT_TRUE(runs(a, "COMMIT"));
  EXPECT_TRUE(runs(b, "COMMIT"));
  EXPECT_EQ(scalar(a, "SELECT string_agg(n::text, ',' ORDER BY id) FROM " + t), "10,20,30");
}

TEST_F(Occ, NoStatementWaitsForAnotherTransaction) {
  const std::string t = counters();
  connection a = open(), b = open();
  a.exec("BEGIN");
  a.exec(set(t, 1));
  // a holds the row and stays open. b's autocommit UPDATE of it neither waits out a lock
  // timeout nor fails: it goes through and commits, so a is the one to lose.
  EXPECT_EQ(b.exec(set(t, 2)).command_tag(), "UPDATE 1");
  EXPECT_EQ(b.exec("DELETE FROM " + t + " WHERE id = 1").command_tag(), "DELETE 1");
  EXPECT_TRUE(fails_with(a, "COMMIT", "40001", oc000));
  EXPECT_EQ(scalar(b, "SELECT count(*) FROM " + t + " WHERE id = 1"), "0");
}

// On DSQL b's UPDATE goes on while a is busy. On PostgreSQL it would wait for a's statement to
// end; dsql local does not let a write wait past a short grace, so b loses at once, and a, the
// holder, goes on and commits (docs/local.md, "What still differs").
TEST_F(Occ, AWriteBehindABusyWriterLosesAtOnce) {
  const std::string t = counters();
  connection a = open(), b = open(), watcher = open();
  a.exec("BEGIN");
  a.exec(set(t, 1));
  // a holds the row and is busy with a statement of its own when b writes the row.
  const std::string marker = fresh_name("occ_busy");
  std::thread busy([&] {
    try {
      a.exec("SELECT pg_sleep(3) AS " + marker);
    } catch (const error& e) {
      ADD_FAILURE() << "a's own statement failed: " << e.what();
    }
  });
  EXPECT_TRUE(eventually([&] {
    return scalar(watcher,
                  "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND "
                  "query LIKE '%" +
                      marker + "%' AND query NOT LIKE '%pg_stat_activity%'") == "1";
  }));
  b.exec("BEGIN");
  EXPECT_TRUE(fails_with(b, set(t, 2), "40001", oc000));
  EXPECT_TRUE(runs(b, "ROLLBACK"));
  busy.join();
  EXPECT_TRUE(runs(a, "COMMIT"));
  EXPECT_EQ(value(watcher, t), "1");
}

TEST_F(Occ, AnotherSessionsDdlFailsTheNextStatementOnceWithOc001) {
  const std::string t = counters();
  connection a = open(), other = open();
  EXPECT_EQ(value(a, t), "0");
  other.exec("CREATE TABLE " + fresh_name("occ_ddl") + " (id int)");
  EXPECT_TRUE(fails_with(a, "SELECT n FROM " + t + " WHERE id = 1", "40001", oc001));
  // The retry sees the new catalog.
  EXPECT_EQ(value(a, t), "0");
  EXPECT_EQ(value(a, t), "0");

  // Inside a transaction the block is aborted; the retried transaction commits.
  a.exec("BEGIN");
  a.exec(set(t, 5));
  other.exec("CREATE VIEW " + fresh_name("occ_view") + " AS SELECT 1 AS x");
  EXPECT_TRUE(fails_with(a, set(t, 6), "40001", oc001));
  EXPECT_TRUE(transaction_aborted(a));
  a.exec("BEGIN");
  a.exec(set(t, 6));
  EXPECT_EQ(a.exec("COMMIT").command_tag(), "COMMIT");
  EXPECT_EQ(value(a, t), "6");

  // A session's own DDL is no news to it.
  a.exec("CREATE TABLE " + fresh_name("occ_own") + " (id int)");
  EXPECT_EQ(value(a, t), "6");
}

TEST_F(Occ, DdlDoesNotWaitForATransactionUsingTheTable) {
  const std::string t = counters();
  connection a = open(), other = open();
  a.exec("BEGIN");
  EXPECT_EQ(value(a, t), "0");
  // DSQL takes no locks: the ALTER commits at once, and a, whose catalog is now stale, gets
  // OC001 on its next statement.
  EXPECT_EQ(other.exec("ALTER TABLE " + t + " ADD COLUMN note text").command_tag(), "ALTER TABLE");
  EXPECT_TRUE(fails_with(a, "SELECT n FROM " + t + " WHERE id = 1", "40001", oc001));
  EXPECT_TRUE(transaction_aborted(a));
  EXPECT_EQ(scalar(a, "SELECT count(note) FROM " + t), "0");
}

TEST_F(Occ, AGrantIsASchemaChangeToo) {
  const std::string t = counters();
  connection other = open();
  const std::string role = fresh_name("occ_role");
  other.exec("CREATE ROLE " + role);
  connection a = open();
  EXPECT_EQ(value(a, t), "0");
  other.exec("GRANT SELECT ON " + t + " TO " + role);
  EXPECT_TRUE(fails_with(a, "SELECT n FROM " + t + " WHERE id = 1", "40001", oc001));
  EXPECT_EQ(value(a, t), "0");
  other.exec("REVOKE SELECT ON " + t + " FROM " + role);
  EXPECT_TRUE(fails_with(a, "SELECT n FROM " + t + " WHERE id = 1", "40001", oc001));
  EXPECT_EQ(value(a, t), "0");
}

TEST_F(Occ, RunTransactionRetriesBothKindsToTheRightTotal) {
  const std::string t = counters();
  pool_options po;
  po.max_size = 1;
  pool p(ep().config(), po);
  connection other = open();

  int attempts = 0;
  std::vector<std::string> codes;
  auto options = fast_retry(5);
  options.on_retry = [&](const retry_event& e) { codes.push_back(e.code); };
  run_transaction(
      p,
      [&](connection& c) {
        ++attempts;
        // The second attempt starts after another session's DDL: its first statement fails.
        if (attempts == 2) other.exec("CREATE TABLE " + fresh_name("occ_retry") + " (id int)");
        c.exec("UPDATE " + t + " SET n = n + 1 WHERE id = 1");
        // The first attempt meets a writer that commits first: it loses at COMMIT.
        if (attempts == 1) other.exec("UPDATE " + t + " SET n = n + 100 WHERE id = 1");
      },
      options);
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(codes, (std::vector<std::string>{"OC000", "OC001"}));
  // Exactly one increment of each writer survived.
  EXPECT_EQ(value(other, t), "101");
}

}  // namespace
}  // namespace dsql::test
