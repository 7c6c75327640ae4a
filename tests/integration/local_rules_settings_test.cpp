// DSQL's server identity and session settings as `dsql local` applies them: what it reports as
// its version, which parameters a client may set (SET, set_config(), startup packet) and how it
// refuses the others, and the transaction forms it accepts. Sources: reference/dsql-server.md
// §2.5, §3.1, /tmp/dsql_research/facts.md Topics 1-2, dsql_cluster_probes.json
// (catalog-version, transactions).

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <utility>

#include "local_rules.hpp"

namespace dsql::test {
namespace {

std::string not_settable(const std::string& name) {
  return "setting configuration parameter \"" + name + "\" not supported";
}

class Settings : public shared_endpoint<Settings> {};

TEST_F(Settings, TheServerSaysItIsPostgresql16) {
  connection c = open();
  EXPECT_EQ(scalar(c, "SHOW server_version"), "16.15");
  EXPECT_EQ(scalar(c, "SHOW server_version_num"), "160015");
  EXPECT_EQ(scalar(c, "SELECT version()"), "PostgreSQL 16");
  EXPECT_EQ(scalar(c, "SELECT current_setting('server_version')"), "16.15");
  EXPECT_EQ(scalar(c, "SELECT current_setting('server_version_num')::int >= 160000"), "t");
  // What libpq was told at startup.
  EXPECT_STREQ(PQparameterStatus(c.raw(), "server_version"), "16.15");
  EXPECT_EQ(PQserverVersion(c.raw()), 160015);
  EXPECT_EQ(scalar(c, "SELECT current_database()"), "postgres");
  EXPECT_EQ(scalar(c, "SELECT current_schema()"), "public");
}

TEST_F(Settings, Postgresql15OnlyParametersAreUnknown) {
  connection c = open();
  EXPECT_TRUE(fails_with(c, "SHOW lc_collate", "42704",
                         "unrecognized configuration parameter \"lc_collate\""));
  EXPECT_TRUE(fails_with(c, "SELECT current_setting('lc_collate')", "42704",
                         "unrecognized configuration parameter \"lc_collate\""));
  EXPECT_EQ(scalar(c, "SELECT current_setting('lc_collate', true) IS NULL"), "t");
  EXPECT_EQ(scalar(c, "SHOW client_encoding"), "UTF8");
  EXPECT_EQ(scalar(c, "SHOW TimeZone"), "UTC");
  EXPECT_EQ(scalar(c, "SHOW transaction_isolation"), "repeatable read");
}

TEST_F(Settings, DocumentedParametersCanBeSet) {
  connection c = open();
  const std::vector<std::pair<std::string, std::string>> settings = {
      {"search_path", "public"},       {"TimeZone", "Europe/Paris"},  {"application_name", "rules"},
      {"DateStyle", "ISO, DMY"},       {"IntervalStyle", "iso_8601"}, {"extra_float_digits", "1"},
      {"client_encoding", "UTF8"},     {"enable_seqscan", "off"},     {"enable_hashjoin", "off"},
      {"enable_nestloop", "off"},      {"enable_mergejoin", "off"},   {"enable_indexscan", "off"},
      {"enable_indexonlyscan", "off"}, {"enable_bitmapscan", "off"},  {"enable_material", "off"},
  };
  for (const auto& [name, value] : settings) {
    EXPECT_TRUE(runs(c, "SET " + name + " = '" + value + "'"));
    EXPECT_EQ(scalar(c, "SHOW " + name), value) << name;
  }
  EXPECT_TRUE(runs(c, "SET SESSION TimeZone = 'UTC'"));
  EXPECT_TRUE(runs(c, "SET TIME ZONE 'America/New_York'"));
  EXPECT_EQ(scalar(c, "SHOW TimeZone"), "America/New_York");
  EXPECT_TRUE(runs(c, "RESET TimeZone"));
  EXPECT_EQ(scalar(c, "SHOW TimeZone"), "UTC");
  // SET LOCAL lasts for its transaction.
  c.exec("BEGIN");
  EXPECT_TRUE(runs(c, "SET LOCAL enable_seqscan = on"));
  EXPECT_EQ(scalar(c, "SHOW enable_seqscan"), "on");
  c.exec("COMMIT");
  EXPECT_EQ(scalar(c, "SHOW enable_seqscan"), "off");
  EXPECT_TRUE(runs(c, "RESET ALL"));
}

TEST_F(Settings, OtherParametersAreRefused) {
  connection c = open();
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"statement_timeout", "0"},
      {"lock_timeout", "0"},
      {"client_min_messages", "warning"},
      {"work_mem", "'8MB'"},
      {"default_transaction_isolation", "'repeatable read'"},
      {"standard_conforming_strings", "on"},
      {"idle_in_transaction_session_timeout", "0"},
  };
  for (const auto& [name, value] : refused) {
    EXPECT_TRUE(fails_with(c, "SET " + name + " = " + value, "0A000", not_settable(name)));
  }
  EXPECT_TRUE(
      fails_with(c, "SET Statement_Timeout TO 0", "0A000", not_settable("statement_timeout")));
  EXPECT_TRUE(fails_with(c, "SET ROLE admin", "0A000", not_settable("role")));
  // In a transaction the refusal aborts it.
  c.exec("BEGIN");
  EXPECT_TRUE(
      fails_with(c, "SET LOCAL statement_timeout = 0", "0A000", not_settable("statement_timeout")));
  EXPECT_TRUE(transaction_aborted(c));
  EXPECT_EQ(scalar(c, "SHOW statement_timeout"), "0");
}

TEST_F(Settings, SetConfigFollowsTheSameRule) {
  connection c = open();
  EXPECT_TRUE(fails_with(c, "SELECT set_config('statement_timeout', '1s', false)", "0A000",
                         not_settable("statement_timeout")));
  EXPECT_TRUE(fails_with(c, "SELECT set_config('work_mem', '8MB', true)", "0A000",
                         not_settable("work_mem")));
  EXPECT_EQ(scalar(c, "SELECT set_config('application_name', 'via_set_config', false)"),
            "via_set_config");
  EXPECT_EQ(scalar(c, "SHOW application_name"), "via_set_config");
}

TEST_F(Settings, AStartupParameterDsqlDoesNotAllowIsRefusedAtConnect) {
  auto params = ep().libpq_params();
  params.emplace_back("options", "-c statement_timeout=5s");
  const raw_connect_result refused = raw_connect(params);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find(fatal_text("0A000", not_settable("statement_timeout"))),
            std::string::npos)
      << refused.error;

  config cfg = ep().config();
  cfg.libpq_params["options"] = "-c client_min_messages=warning";
  try {
    dsql::connect(cfg);
    ADD_FAILURE() << "options=-c client_min_messages=warning was accepted";
  } catch (const connection_error& e) {
    EXPECT_NE(std::string(e.what()).find(not_settable("client_min_messages")), std::string::npos)
        << e.what();
  }

  // The allowed ones are taken, and in force.
  auto allowed = ep().libpq_params();
  allowed.emplace_back("options", "-c search_path=public -c DateStyle=German");
  raw_connect_result ok = raw_connect(allowed);
  ASSERT_TRUE(ok.ok) << ok.error;
  connection c(ok.conn.release());
  EXPECT_EQ(scalar(c, "SHOW DateStyle"), "German, DMY");
}

TEST_F(Settings, SetTransactionIsRefused) {
  connection c = open();
  for (const char* form :
       {"SET TRANSACTION READ ONLY", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"}) {
    c.exec("BEGIN");
    EXPECT_TRUE(fails_with(c, form, "0A000", not_settable("TRANSACTION")));
    EXPECT_TRUE(transaction_aborted(c));
  }
  c.exec("BEGIN");
  EXPECT_TRUE(fails_with(c, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "0A000",
                         "Unsupported isolation level: SERIALIZABLE"));
  EXPECT_TRUE(transaction_aborted(c));
  // The session-wide form is accepted.
  EXPECT_TRUE(runs(c, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"));
  c.exec("BEGIN");
  EXPECT_EQ(scalar(c, "SHOW transaction_read_only"), "on");
  c.exec("ROLLBACK");
}

TEST_F(Settings, OnlyRepeatableReadTransactionsBegin) {
  connection c = open();
  EXPECT_TRUE(fails_with(c, "BEGIN ISOLATION LEVEL SERIALIZABLE", "0A000",
                         "Unsupported isolation level: SERIALIZABLE"));
  EXPECT_FALSE(c.in_transaction());
  EXPECT_TRUE(fails_with(c, "START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "0A000",
                         "Unsupported isolation level: SERIALIZABLE"));
  EXPECT_FALSE(c.in_transaction());
  EXPECT_EQ(c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ").command_tag(), "BEGIN");
  EXPECT_EQ(scalar(c, "SHOW transaction_isolation"), "repeatable read");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  EXPECT_TRUE(runs(c, "START TRANSACTION"));
  EXPECT_EQ(scalar(c, "SHOW transaction_isolation"), "repeatable read");
  EXPECT_TRUE(runs(c, "ROLLBACK"));
}

TEST_F(Settings, SavepointsAreRefused) {
  connection c = open();
  c.exec("BEGIN");
  EXPECT_TRUE(
      fails_with(c, "SAVEPOINT sp", "0A000", "unsupported transaction statement: SAVEPOINT"));
  EXPECT_TRUE(transaction_aborted(c));
  c.exec("BEGIN");
  EXPECT_TRUE(
      fails_with(c, "RELEASE SAVEPOINT sp", "0A000", "unsupported transaction statement: RELEASE"));
  c.exec("ROLLBACK");
  c.exec("BEGIN");
  EXPECT_TRUE(fails_with(c, "ROLLBACK TO SAVEPOINT sp", "0A000",
                         "unsupported transaction statement: ROLLBACK TO"));
  // Plain ROLLBACK ends the block as usual.
  EXPECT_EQ(c.exec("ROLLBACK").command_tag(), "ROLLBACK");
  EXPECT_FALSE(c.in_transaction());
}

TEST_F(Settings, ReadOnlyTransactionsWork) {
  connection c = open();
  const std::string t = fresh_name("set_ro");
  c.exec("CREATE TABLE " + t + " (id int PRIMARY KEY)");
  c.exec("INSERT INTO " + t + " VALUES (1)");
  EXPECT_EQ(c.exec("BEGIN READ ONLY").command_tag(), "BEGIN");
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "1");
  EXPECT_EQ(scalar(c, "SHOW transaction_read_only"), "on");
  const auto e = sql_error_of([&] { c.exec("INSERT INTO " + t + " VALUES (2)"); });
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->sqlstate(), "25006");
  c.exec("ROLLBACK");
  EXPECT_TRUE(runs(c, "START TRANSACTION READ ONLY"));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "1");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
}

}  // namespace
}  // namespace dsql::test
