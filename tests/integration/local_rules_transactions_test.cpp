// DSQL's transaction rules as `dsql local` applies them, through the connector: one DDL statement
// per transaction, DDL and DML never in one transaction (GRANT and REVOKE are DDL), a SELECT may
// sit beside DDL, and a refused statement aborts its transaction block but not an autocommit
// session. Sources: reference/dsql-server.md §3.3, §4.1; dsql_cluster_probes.json.

#include <gtest/gtest.h>

#include "local_rules.hpp"

namespace dsql::test {
namespace {

constexpr const char* multiple_ddl = "multiple ddl statements not supported in a transaction";
constexpr const char* ddl_and_dml = "ddl and dml are not supported in the same transaction";

class Transactions : public shared_endpoint<Transactions> {
 protected:
  // A table made in its own autocommit statement, as DSQL wants DDL.
  static std::string table(connection& c) {
    const std::string name = fresh_name("txn");
    c.exec("CREATE TABLE " + name + " (id int PRIMARY KEY, v text)");
    return name;
  }
};

TEST_F(Transactions, OneDdlStatementPerTransaction) {
  connection c = open();
  const std::string first = fresh_name("one_ddl"), second = fresh_name("one_ddl");
  c.exec("BEGIN");
  EXPECT_EQ(c.exec("CREATE TABLE " + first + " (id int)").command_tag(), "CREATE TABLE");
  EXPECT_TRUE(fails_with(c, "CREATE TABLE " + second + " (id int)", "0A000", multiple_ddl));
  EXPECT_TRUE(transaction_aborted(c));
  // The whole transaction is gone, the first table included.
  EXPECT_FALSE(relation_exists(c, first));
  EXPECT_FALSE(relation_exists(c, second));

  // One DDL in a transaction commits.
  c.exec("BEGIN");
  c.exec("CREATE TABLE " + first + " (id int)");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  EXPECT_TRUE(relation_exists(c, first));
}

TEST_F(Transactions, AnyTwoKindsOfDdlCount) {
  connection c = open();
  const std::string t = table(c);
  const std::string view = fresh_name("one_ddl_view");
  c.exec("BEGIN");
  c.exec("ALTER TABLE " + t + " ADD COLUMN extra text");
  EXPECT_TRUE(fails_with(c, "CREATE VIEW " + view + " AS SELECT 1 AS x", "0A000", multiple_ddl));
  EXPECT_TRUE(transaction_aborted(c));
  EXPECT_FALSE(relation_exists(c, view));
  EXPECT_TRUE(fails_with(c, "SELECT extra FROM " + t, "42703", "column \"extra\" does not exist"));
}

TEST_F(Transactions, DmlAfterDdlIsRefused) {
  connection c = open();
  const std::string t = table(c);
  for (const std::string& dml : {"INSERT INTO " + t + " VALUES (1, 'a')",
                                 "UPDATE " + t + " SET v = 'b'", "DELETE FROM " + t}) {
    c.exec("BEGIN");
    c.exec("CREATE VIEW " + fresh_name("ddl_dml_view") + " AS SELECT 1 AS x");
    EXPECT_TRUE(fails_with(c, dml, "0A000", ddl_and_dml));
    EXPECT_TRUE(transaction_aborted(c));
  }
  // Through the extended protocol too.
  c.exec("BEGIN");
  c.exec("CREATE VIEW " + fresh_name("ddl_dml_view") + " AS SELECT 1 AS x");
  EXPECT_TRUE(params_fail_with(c, "INSERT INTO " + t + " VALUES ($1, 'a')", {std::string("1")},
                               "0A000", ddl_and_dml));
  EXPECT_TRUE(transaction_aborted(c));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "0");
}

TEST_F(Transactions, DdlAfterDmlIsRefused) {
  connection c = open();
  const std::string t = table(c);
  const std::string later = fresh_name("dml_ddl");
  c.exec("BEGIN");
  EXPECT_EQ(c.exec("INSERT INTO " + t + " VALUES (1, 'a')").command_tag(), "INSERT 0 1");
  EXPECT_TRUE(fails_with(c, "CREATE TABLE " + later + " (id int)", "0A000", ddl_and_dml));
  EXPECT_TRUE(transaction_aborted(c));
  EXPECT_FALSE(relation_exists(c, later));
  // The insert went with the transaction.
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "0");
}

TEST_F(Transactions, DmlAloneCommits) {
  connection c = open();
  const std::string t = table(c);
  c.exec("BEGIN");
  c.exec("INSERT INTO " + t + " VALUES (1, 'a'), (2, 'b')");
  c.exec("UPDATE " + t + " SET v = 'c' WHERE id = 1");
  c.exec("DELETE FROM " + t + " WHERE id = 2");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  EXPECT_EQ(scalar(c, "SELECT string_agg(id || '=' || v, ',') FROM " + t), "1=c");
}

TEST_F(Transactions, GrantAndRevokeCountAsDdl) {
  connection c = open();
  const std::string t = table(c);
  const std::string role = fresh_name("txn_reader");
  c.exec("CREATE ROLE " + role);
  const std::string grant = "GRANT SELECT ON " + t + " TO " + role;
  const std::string revoke = "REVOKE SELECT ON " + t + " FROM " + role;

  c.exec("BEGIN");
  c.exec("CREATE VIEW " + fresh_name("grant_view") + " AS SELECT 1 AS x");
  EXPECT_TRUE(fails_with(c, grant, "0A000", multiple_ddl));
  EXPECT_TRUE(transaction_aborted(c));

  c.exec("BEGIN");
  c.exec("INSERT INTO " + t + " VALUES (1, 'a')");
  EXPECT_TRUE(fails_with(c, grant, "0A000", ddl_and_dml));
  EXPECT_TRUE(transaction_aborted(c));

  c.exec("BEGIN");
  c.exec(grant);
  EXPECT_TRUE(fails_with(c, "INSERT INTO " + t + " VALUES (1, 'a')", "0A000", ddl_and_dml));
  EXPECT_TRUE(transaction_aborted(c));

  c.exec("BEGIN");
  c.exec(revoke);
  EXPECT_TRUE(fails_with(c, grant, "0A000", multiple_ddl));
  EXPECT_TRUE(transaction_aborted(c));

  // Alone, each works: in a transaction of its own or in autocommit.
  c.exec("BEGIN");
  c.exec(grant);
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  const std::string has = "SELECT has_table_privilege('" + role + "', '" + t + "', 'SELECT')";
  EXPECT_EQ(scalar(c, has), "t");
  EXPECT_EQ(c.exec(revoke).command_tag(), "REVOKE");
  EXPECT_EQ(scalar(c, has), "f");
}

TEST_F(Transactions, DdlInAutocommitWorks) {
  connection c = open();
  const std::string t = fresh_name("auto_ddl");
  const std::string view = fresh_name("auto_ddl_view");
  // Each statement is a transaction of its own: any number of them, one after another.
  EXPECT_EQ(c.exec("CREATE TABLE " + t + " (id int PRIMARY KEY)").command_tag(), "CREATE TABLE");
  EXPECT_EQ(c.exec("ALTER TABLE " + t + " ADD COLUMN v text").command_tag(), "ALTER TABLE");
  EXPECT_EQ(c.exec("CREATE VIEW " + view + " AS SELECT id, v FROM " + t).command_tag(),
            "CREATE VIEW");
  EXPECT_EQ(c.exec("COMMENT ON TABLE " + t + " IS 'rules'").command_tag(), "COMMENT");
  EXPECT_EQ(c.exec("INSERT INTO " + t + " VALUES (1, 'a')").command_tag(), "INSERT 0 1");
  EXPECT_EQ(c.exec("DROP VIEW " + view).command_tag(), "DROP VIEW");
  EXPECT_EQ(scalar(c, "SELECT v FROM " + t), "a");
  EXPECT_FALSE(c.in_transaction());
}

TEST_F(Transactions, SelectBesideDdlIsAllowed) {
  connection c = open();
  const std::string t = table(c);
  c.exec("INSERT INTO " + t + " VALUES (1, 'a')");
  const std::string created = fresh_name("select_ddl");
  c.exec("BEGIN");
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "1");
  EXPECT_EQ(c.exec("CREATE TABLE " + created + " (id int)").command_tag(), "CREATE TABLE");
  EXPECT_EQ(scalar(c, "SELECT v FROM " + t + " WHERE id = 1"), "a");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  EXPECT_TRUE(relation_exists(c, created));
}

TEST_F(Transactions, ARefusedStatementAbortsTheTransaction) {
  connection c = open();
  const std::string t = table(c);
  c.exec("BEGIN");
  c.exec("INSERT INTO " + t + " VALUES (1, 'a')");
  EXPECT_TRUE(fails_with(c, "TRUNCATE " + t, "0A000", "unsupported statement: Truncate"));
  EXPECT_TRUE(c.in_transaction());
  EXPECT_TRUE(fails_with(c, "INSERT INTO " + t + " VALUES (2, 'b')", "25P02", aborted_message));
  // COMMIT ends the block but commits nothing.
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "ROLLBACK");
  EXPECT_FALSE(c.in_transaction());
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "0");

  // A DSQL rule refusal aborts it just the same (here: the second DDL).
  c.exec("BEGIN");
  c.exec("CREATE VIEW " + fresh_name("abort_view") + " AS SELECT 1 AS x");
  EXPECT_TRUE(fails_with(c, "CREATE VIEW " + fresh_name("abort_view") + " AS SELECT 2 AS x",
                         "0A000", multiple_ddl));
  EXPECT_TRUE(transaction_aborted(c));
}

TEST_F(Transactions, ARefusalInAutocommitDoesNotAbortTheSession) {
  connection c = open();
  const std::string t = table(c);
  EXPECT_TRUE(fails_with(c, "TRUNCATE " + t, "0A000", "unsupported statement: Truncate"));
  EXPECT_FALSE(c.in_transaction());
  EXPECT_EQ(c.exec("INSERT INTO " + t + " VALUES (1, 'a')").command_tag(), "INSERT 0 1");
  EXPECT_TRUE(fails_with(c, "CREATE TABLE " + fresh_name("money") + " (m money)", "0A000",
                         "datatype money not supported"));
  EXPECT_EQ(scalar(c, "SELECT v FROM " + t), "a");
  // And a transaction opened after it is a fresh one: DDL is allowed in it.
  c.exec("BEGIN");
  EXPECT_TRUE(runs(c, "CREATE VIEW " + fresh_name("after_refusal") + " AS SELECT 1 AS x"));
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
}

TEST_F(Transactions, RollbackUndoesTheDdl) {
  connection c = open();
  const std::string t = fresh_name("rolled_back");
  c.exec("BEGIN");
  c.exec("CREATE TABLE " + t + " (id int)");
  EXPECT_EQ(c.exec("ROLLBACK").command_tag(), "ROLLBACK");
  EXPECT_FALSE(relation_exists(c, t));
  // The rule is per transaction: the next one may hold DDL again.
  c.exec("BEGIN");
  EXPECT_TRUE(runs(c, "CREATE TABLE " + t + " (id int)"));
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  EXPECT_TRUE(relation_exists(c, t));
}

}  // namespace
}  // namespace dsql::test
