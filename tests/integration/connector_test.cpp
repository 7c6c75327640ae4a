// The connector against a real `dsql local`: verified TLS, IAM tokens, DSQL's refusals turned
// into typed errors with a diagnosis, bounded connects, and no secret in any message.

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <unistd.h>

#include <cstdio>
#include <memory>

#include "dsql/dsql.hpp"
#include "local_endpoint.hpp"
#include "support/sockets.hpp"
#include "unit/test_support.hpp"

namespace dsql {
namespace {

// One endpoint serves the whole suite: these tests check the connector, not the endpoint's
// start-up, and each initdb costs seconds.
class Connector : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { endpoint_ = std::make_unique<test::local_endpoint>(); }
  static void TearDownTestSuite() { endpoint_.reset(); }
  static test::local_endpoint& ep() { return *endpoint_; }

  // Every message the connector produced in these tests must be free of secrets.
  static void expect_no_secret(const std::string& text) {
    EXPECT_EQ(text.find(ep().secret_access_key()), std::string::npos) << text;
    EXPECT_EQ(text.find("X-Amz-Signature"), std::string::npos) << text;
    EXPECT_EQ(text.find("X-Amz-Credential"), std::string::npos) << text;
  }

  static std::unique_ptr<test::local_endpoint> endpoint_;
};
std::unique_ptr<test::local_endpoint> Connector::endpoint_;

template <class E>
E caught(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e;
  }
  throw std::runtime_error("expected exception not thrown");
}

// What this process writes on stderr while `fn` runs.
std::string stderr_of(const std::function<void()>& fn) {
  std::fflush(stderr);
  char path[] = "/tmp/dsql-stderr-XXXXXX";
  const int file = ::mkstemp(path);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(file, STDERR_FILENO);
  try {
    fn();
  } catch (...) {
    ::dup2(saved, STDERR_FILENO);
    throw;
  }
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(file);
  const std::string text = test::read_file(path);
  ::unlink(path);
  return text;
}

TEST_F(Connector, NoticesAreNotPrintedOnStderrByDefault) {
  connection conn = connect(ep().config());
  const std::string err =
      stderr_of([&] { conn.exec("DROP TABLE IF EXISTS no_such_table_for_notices"); });
  EXPECT_EQ(err, "");
}

TEST_F(Connector, NoticesGoToTheConfiguredHandlerAndCanBeRedirected) {
  std::vector<notice> seen;
  config cfg = ep().config();
  cfg.on_notice = [&](const notice& n) { seen.push_back(n); };
  connection conn = connect(cfg);
  conn.exec("DROP TABLE IF EXISTS no_such_table_for_notices");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].severity, "NOTICE");
  EXPECT_EQ(seen[0].sqlstate, "00000");
  EXPECT_NE(seen[0].message.find("does not exist, skipping"), std::string::npos);
  EXPECT_EQ(seen[0].message.find("LOCATION"), std::string::npos);

  // Moved connections keep their handler; a new one replaces it; a throwing one is contained.
  connection moved = std::move(conn);
  moved.exec("DROP TABLE IF EXISTS no_such_table_for_notices");
  EXPECT_EQ(seen.size(), 2u);
  int other = 0;
  moved.set_notice_handler([&](const notice&) { ++other; });
  moved.exec("DROP TABLE IF EXISTS no_such_table_for_notices");
  EXPECT_EQ(other, 1);
  EXPECT_EQ(seen.size(), 2u);
  moved.set_notice_handler([](const notice&) { throw std::runtime_error("handler failed"); });
  EXPECT_NO_THROW(moved.exec("DROP TABLE IF EXISTS no_such_table_for_notices"));
  // Released, the handle no longer calls into the connection's (destroyed) handler.
  PGconn* raw = moved.release();
  const std::string err =
      stderr_of([&] { PQclear(PQexec(raw, "DROP TABLE IF EXISTS no_such_table_for_notices")); });
  EXPECT_EQ(err, "");
  PQfinish(raw);
}

TEST_F(Connector, ConnectsWithVerifiedTlsAndAnIamToken) {
  connection conn = connect(ep().config());
  ASSERT_TRUE(conn.is_open());
  EXPECT_EQ(PQsslInUse(conn.raw()), 1);
  EXPECT_EQ(conn.exec("SELECT current_user").value(0, 0), "admin");
  EXPECT_EQ(conn.exec("SHOW application_name").value(0, 0),
            std::string("aurora-dsql-cpp/") + version);
  EXPECT_EQ(conn.exec("SHOW transaction_isolation").value(0, 0), "repeatable read");
  EXPECT_FALSE(conn.in_transaction());
  conn.exec("BEGIN");
  EXPECT_TRUE(conn.in_transaction());
  conn.exec("ROLLBACK");
}

TEST_F(Connector, ReportsWhereTheSessionStands) {
  connection conn = connect(ep().config());
  EXPECT_EQ(conn.transaction_status(), transaction_state::idle);
  conn.exec("BEGIN");
  EXPECT_EQ(conn.transaction_status(), transaction_state::in_transaction);
  EXPECT_THROW(conn.exec("SELECT 1/0"), sql_error);
  EXPECT_EQ(conn.transaction_status(), transaction_state::failed);
  EXPECT_TRUE(conn.in_transaction());
  conn.exec("ROLLBACK");
  EXPECT_EQ(conn.transaction_status(), transaction_state::idle);
  conn.close();
  EXPECT_EQ(conn.transaction_status(), transaction_state::unknown);
  EXPECT_FALSE(conn.in_transaction());
  EXPECT_EQ(transaction_status_of(nullptr), transaction_state::unknown);
}

TEST_F(Connector, SignsForTheDsqlNameWhileConnectingToAnAddress) {
  // The certificate covers the DSQL-shaped name; libpq verifies it while dialling 127.0.0.1.
  config cfg = ep().config();
  cfg.host = ep().cluster_endpoint();
  cfg.hostaddr = "127.0.0.1";
  connection conn = connect(cfg);
  EXPECT_EQ(conn.exec("SELECT 1").value(0, 0), "1");

  config tunnel = ep().config();
  tunnel.token_host = ep().cluster_endpoint();
  EXPECT_EQ(connect(tunnel).exec("SELECT 2").value(0, 0), "2");
}

TEST_F(Connector, ConnectsFromAUri) {
  const std::string uri = "dsql://admin@localhost:" + std::to_string(ep().port()) +
                          "/postgres?region=" + ep().region() + "&sslrootcert=" + ep().ca_file();
  config cfg = parse_connection_uri(uri);
  cfg.credentials = ep().config().credentials;
  EXPECT_EQ(connect(cfg).exec("SELECT 3").value(0, 0), "3");
}

TEST_F(Connector, UnknownAccessKeyIsRefusedWithADiagnosis) {
  config cfg = ep().config();
  cfg.credentials = std::make_shared<static_credentials_provider>(
      credentials{"AKIAUNKNOWNUNKNOWN00", "not-the-local-secret-at-all", "", std::nullopt, "test"});
  const auto e = caught<auth_error>([&] { connect(cfg); });
  EXPECT_EQ(e.sqlstate(), "28000");
  EXPECT_EQ(e.server_message(), "unable to accept connection, access denied");
  EXPECT_NE(e.diagnosis().find("dsql:DbConnectAdmin"), std::string::npos) << e.diagnosis();
  expect_no_secret(e.what());
  EXPECT_EQ(std::string(e.what()).find("not-the-local-secret-at-all"), std::string::npos);
}

TEST_F(Connector, WrongRegionIsRefusedAndNamed) {
  config cfg = ep().config();
  cfg.region = "eu-west-3";
  const auto e = caught<auth_error>([&] { connect(cfg); });
  EXPECT_NE(e.diagnosis().find("eu-west-3"), std::string::npos) << e.diagnosis();
  expect_no_secret(e.what());
}

TEST_F(Connector, UnmappedRoleIsRefusedWithTheGrantToRun) {
  connection admin = connect(ep().config());
  admin.exec("DROP ROLE IF EXISTS unmapped_app");
  admin.exec("CREATE ROLE unmapped_app WITH LOGIN");
  const auto e = caught<auth_error>([&] { connect(ep().config("unmapped_app")); });
  EXPECT_EQ(e.sqlstate(), "28000");
  EXPECT_NE(e.diagnosis().find("AWS IAM GRANT unmapped_app"), std::string::npos) << e.diagnosis();
  expect_no_secret(e.what());
}

TEST_F(Connector, MappedRoleConnectsWithADbConnectToken) {
  connection admin = connect(ep().config());
  admin.exec("DROP ROLE IF EXISTS mapped_app");
  admin.exec("CREATE ROLE mapped_app WITH LOGIN");
  admin.exec("AWS IAM GRANT mapped_app TO '" + ep().principal_arn() + "'");
  connection app = connect(ep().config("mapped_app"));
  EXPECT_EQ(app.exec("SELECT current_user").value(0, 0), "mapped_app");
}

TEST_F(Connector, ExpiredTokenIsRetriedOnceThenReportedAsClockTrouble) {
  // A clock two hours behind signs tokens that are already expired for the server.
  const config cfg = ep().config();
  connector behind(cfg, connector_options{},
                   [] { return std::chrono::system_clock::now() - std::chrono::hours(2); });
  const auto e = caught<auth_error>([&] { behind.connect(); });
  EXPECT_TRUE(e.signature_expired()) << e.what();
  EXPECT_NE(e.diagnosis().find("clock"), std::string::npos);
  expect_no_secret(e.what());
}

TEST_F(Connector, SqlErrorsCarryTheirSqlstate) {
  connection conn = connect(ep().config());
  const auto missing = caught<sql_error>([&] { conn.exec("SELECT * FROM no_such_table"); });
  EXPECT_EQ(missing.sqlstate(), "42P01");
  const auto serializable =
      caught<sql_error>([&] { conn.exec("BEGIN ISOLATION LEVEL SERIALIZABLE"); });
  EXPECT_EQ(serializable.sqlstate(), "0A000");
  EXPECT_NE(serializable.server_message().find("SERIALIZABLE"), std::string::npos);
  // The connection stays usable after a refused statement in autocommit mode.
  EXPECT_EQ(conn.exec_params("SELECT $1::int + 1", {std::string("41")}).value(0, 0), "42");
  EXPECT_TRUE(conn.exec_params("SELECT $1::text", {std::nullopt}).is_null(0, 0));
}

TEST_F(Connector, InjectedSchemaConflictReachesParameterisedStatements) {
  connection control = connect(ep().config());
  connection conn = connect(ep().config());
  control.exec("DSQL LOCAL FAIL NEXT STATEMENT WITH OC001");
  const auto e = caught<sql_error>([&] { conn.exec_params("SELECT $1::int", {std::string("7")}); });
  EXPECT_EQ(e.sqlstate(), "40001");
  EXPECT_NE(e.server_message().find("(OC001)"), std::string::npos) << e.server_message();
  // Consumed once: the same statement works next time.
  EXPECT_EQ(conn.exec_params("SELECT $1::int", {std::string("7")}).value(0, 0), "7");
}

TEST_F(Connector, TokenReuseFollowsTheConfiguredShareOfItsLifetime) {
  auto now = std::chrono::system_clock::now();
  config cfg = ep().config();
  cfg.token_duration = std::chrono::seconds(100);
  connector reusing(cfg, connector_options{0.8}, [&] { return now; });
  const std::string first = reusing.token();
  now += std::chrono::seconds(79);
  EXPECT_EQ(reusing.token(), first);
  now += std::chrono::seconds(2);
  EXPECT_NE(reusing.token(), first);

  connector fresh(cfg, connector_options{}, [&] { return now; });
  const std::string a = fresh.token();
  now += std::chrono::seconds(1);
  EXPECT_NE(fresh.token(), a);
}

TEST(ConnectorNetwork, AServerThatNeverAnswersTimesOut) {
  // A socket that listens but never accepts: TCP connects, TLS never starts.
  test::loopback_listener silent;
  config cfg;
  cfg.host = "localhost";
  cfg.region = "us-east-1";
  cfg.port = silent.port();
  cfg.connect_timeout = std::chrono::seconds(1);
  cfg.credentials = std::make_shared<static_credentials_provider>(
      credentials{"AKID", "SECRET", "", std::nullopt, "test"});
  const auto e = caught<connection_error>([&] { connect(cfg); });
  EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  silent.close();  // now nothing listens: refused at once
  EXPECT_THROW(connect(cfg), connection_error);
}

}  // namespace
}  // namespace dsql
