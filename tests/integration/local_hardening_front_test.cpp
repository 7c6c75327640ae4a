// dsql local's hardening (issue 9), end to end: the front's side (its own statements, IAM
// mappings after a backend restart, its log, TLS server names). Each defect's test failed before
// its fix; EndpointTlsServerNamesAreAccepted keeps the SNI check from refusing the endpoint's own.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "local_endpoint.hpp"
#include "support/libpq.hpp"
#include "support/sockets.hpp"

namespace {

using namespace std::chrono_literals;
using dsql::test::local_endpoint;
using dsql::test::pgconn_ptr;
using dsql::test::pq_connect;
using dsql::test::pq_error_field;
using dsql::test::pq_exec;
using dsql::test::pq_value;
using dsql::test::with_param;

pgconn_ptr connect_ok(const local_endpoint& ep, const std::string& user = "admin") {
  auto conn = pq_connect(ep.libpq_params(user));
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK)
      << user << ": " << PQerrorMessage(conn.get()) << ep.output();
  return conn;
}

struct outcome {
  ExecStatusType status;
  std::string sqlstate;
  std::string message;
};

outcome run(PGconn* conn, const std::string& sql) {
  const auto res = pq_exec(conn, sql);
  return {PQresultStatus(res.get()), pq_error_field(res.get(), PG_DIAG_SQLSTATE),
          pq_error_field(res.get(), PG_DIAG_MESSAGE_PRIMARY)};
}

// "text" as a SQL identifier, and 'text' as a SQL string literal (standard conforming).
std::string identifier(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

constexpr const char* victim_count = "SELECT count(*) FROM victim2";

// 3a. DSQL refuses standard_conforming_strings; dsql local used to let a client turn it off,
// which is what made the front's own quoting breakable.
TEST(LocalHardeningFront, StandardConformingStringsCannotBeTurnedOff) {
  local_endpoint ep;
  auto conn = connect_ok(ep);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  const std::string refusal =
      "setting configuration parameter \"standard_conforming_strings\" not supported";

  auto r = run(conn.get(), "SET standard_conforming_strings = off");
  EXPECT_EQ(r.status, PGRES_FATAL_ERROR);
  EXPECT_EQ(r.sqlstate, "0A000") << r.message;
  EXPECT_EQ(r.message, refusal);
  r = run(conn.get(), "SELECT set_config('standard_conforming_strings', 'off', false)");
  EXPECT_EQ(r.status, PGRES_FATAL_ERROR);
  EXPECT_EQ(r.sqlstate, "0A000") << r.message;
  ASSERT_EQ(pq_value(conn.get(), "BEGIN"), "");
  r = run(conn.get(), "SET LOCAL standard_conforming_strings = off");
  EXPECT_EQ(r.status, PGRES_FATAL_ERROR);
  EXPECT_EQ(r.sqlstate, "0A000") << r.message;
  ASSERT_EQ(pq_value(conn.get(), "ROLLBACK"), "");
  EXPECT_EQ(pq_value(conn.get(), "SHOW standard_conforming_strings"), "on");

  // Nor as a startup setting.
  auto startup =
      pq_connect(with_param(ep.libpq_params(), "options", "-c standard_conforming_strings=off"));
  EXPECT_NE(PQstatus(startup.get()), CONNECTION_OK);
  EXPECT_NE(std::string(PQerrorMessage(startup.get())).find(refusal), std::string::npos)
      << PQerrorMessage(startup.get());
}

// 3b. Role names and ARNs reach the front's own statements (the errors it raises through
// PostgreSQL). `x\'; EXCEPTION WHEN OTHERS THEN DROP TABLE victim2; END; --` used to close the
// front's string literal once standard_conforming_strings was off, and ran the DROP.
TEST(LocalHardeningFront, IamCommandTextCannotInjectIntoTheFrontsStatements) {
  local_endpoint ep;
  auto conn = connect_ok(ep);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  ASSERT_EQ(pq_value(conn.get(), "CREATE TABLE victim2 (id integer)"), "");
  ASSERT_EQ(pq_value(conn.get(), "INSERT INTO victim2 VALUES (1)"), "");
  ASSERT_EQ(pq_value(conn.get(), "CREATE ROLE app WITH LOGIN"), "");
  // What an attacker would do first. A client can no longer turn it off (SET and ALTER ROLE ...
  // SET are refused, as on DSQL), so the setting is turned off behind the front, on the backing
  // PostgreSQL's own socket, for admin's next session: the front's statements must hold either
  // way.
  EXPECT_EQ(run(conn.get(), "ALTER ROLE admin SET standard_conforming_strings = off").sqlstate,
            "0A000");
  {
    pgconn_ptr backdoor =
        pq_connect({{"host", ep.dir() + "/run"}, {"user", "postgres"}, {"dbname", "postgres"}});
    ASSERT_EQ(PQstatus(backdoor.get()), CONNECTION_OK) << PQerrorMessage(backdoor.get());
    ASSERT_EQ(run(backdoor.get(), "ALTER ROLE admin SET standard_conforming_strings = off").status,
              PGRES_COMMAND_OK)
        << PQerrorMessage(backdoor.get());
  }
  conn = connect_ok(ep);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  (void)run(conn.get(), "SET standard_conforming_strings = off");
  // The hostile names below meet the front with backslashes live.
  ASSERT_EQ(pq_value(conn.get(), "SHOW standard_conforming_strings"), "off");

  const std::vector<std::string> hostile = {
      "x\\'; EXCEPTION WHEN OTHERS THEN DROP TABLE victim2; END; --",
      "x'); DROP TABLE victim2; --",
      "x\\",
      "x$q$); DROP TABLE victim2; --$q$",
      "x$q$ $q0$ $q1$'); DROP TABLE victim2; --",
      "x$q",
      "x$q0",
      "$dsql_local$; DROP TABLE victim2; END$dsql_local$; --",
      "x\n'); DROP TABLE victim2; --\\",
  };
  const std::string arn = "arn:aws:iam::000000000000:role/x";
  for (const std::string& text : hostile) {
    SCOPED_TRACE(text);
    // A role that does not exist: the message names it.
    auto r = run(conn.get(), "AWS IAM GRANT " + identifier(text) + " TO " + literal(arn));
    EXPECT_EQ(r.status, PGRES_FATAL_ERROR) << "the front's error did not come back";
    EXPECT_EQ(r.sqlstate, "42704") << r.message;
    EXPECT_EQ(r.message.rfind("IAM role ", 0), 0u) << r.message;
    EXPECT_NE(r.message.find("does not exist"), std::string::npos) << r.message;
    EXPECT_EQ(pq_value(conn.get(), victim_count), "1");

    // A mapping that does not exist: the message names the ARN.
    r = run(conn.get(), "AWS IAM REVOKE app FROM " + literal(arn + text));
    EXPECT_EQ(r.status, PGRES_FATAL_ERROR) << "the front's error did not come back";
    EXPECT_EQ(r.sqlstate, "42704") << r.message;
    EXPECT_EQ(r.message.rfind("IAM role app is not granted to arn:aws:iam::", 0), 0u) << r.message;
    EXPECT_EQ(pq_value(conn.get(), victim_count), "1");
  }
  EXPECT_EQ(pq_value(conn.get(), "SELECT count(*) FROM sys.iam_pg_role_mappings"), "0");
}

// Creates role `app` with LOGIN, maps it to the endpoint's principal, and checks it logs in.
void map_app_role(const local_endpoint& ep, PGconn* admin) {
  ASSERT_EQ(pq_value(admin, "CREATE ROLE app WITH LOGIN"), "");
  ASSERT_EQ(pq_value(admin, "AWS IAM GRANT app TO '" + ep.principal_arn() + "'"), "");
  auto app = connect_ok(ep, "app");
  ASSERT_EQ(PQstatus(app.get()), CONNECTION_OK);
  ASSERT_EQ(pq_value(app.get(), "SELECT current_user"), "app");
}

void expect_app_logs_in(const local_endpoint& ep) {
  auto app = pq_connect(ep.libpq_params("app"));
  ASSERT_EQ(PQstatus(app.get()), CONNECTION_OK) << PQerrorMessage(app.get()) << ep.output();
  EXPECT_EQ(pq_value(app.get(), "SELECT current_user"), "app");
  EXPECT_EQ(ep.output().find("is not mapped to it"), std::string::npos)
      << "the log blamed the IAM mapping\n"
      << ep.output();
}

// 4a. The front's bookkeeping connection terminated under it: the next non-admin login used to
// be refused (28000), the log blaming the IAM mapping.
TEST(LocalHardeningFront, MappedRoleLogsInAfterTheBookkeepingBackendIsTerminated) {
  local_endpoint ep;
  auto admin = connect_ok(ep);
  ASSERT_EQ(PQstatus(admin.get()), CONNECTION_OK);
  ASSERT_NO_FATAL_FAILURE(map_app_role(ep, admin.get()));

  constexpr const char* front_backends =
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dsql-local-front'";
  ASSERT_EQ(pq_value(admin.get(), front_backends), "1");
  ASSERT_EQ(pq_value(admin.get(),
                     "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS gone FROM "
                     "pg_stat_activity WHERE application_name = 'dsql-local-front') t WHERE gone"),
            "1");
  for (int i = 0; i < 100 && pq_value(admin.get(), front_backends) != "0"; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(pq_value(admin.get(), front_backends), "0");

  expect_app_logs_in(ep);
}

// Kills one client backend outright (PostgreSQL then ends every other one and reinitialises)
// and waits until admin can connect again.
void crash_a_backend(const local_endpoint& ep) {
  auto admin = connect_ok(ep);
  ASSERT_EQ(PQstatus(admin.get()), CONNECTION_OK);
  auto doomed = pq_connect(with_param(ep.libpq_params(), "application_name", "hardening-crash"));
  ASSERT_EQ(PQstatus(doomed.get()), CONNECTION_OK) << PQerrorMessage(doomed.get());
  const std::string pid = pq_value(
      admin.get(), "SELECT pid FROM pg_stat_activity WHERE application_name = 'hardening-crash'");
  ASSERT_GT(std::atoi(pid.c_str()), 1) << pid;
  admin.reset();
  ASSERT_EQ(::kill(static_cast<pid_t>(std::atoi(pid.c_str())), SIGKILL), 0);
  doomed.reset();

  bool back = false;
  for (int i = 0; i < 120 && !back; ++i) {
    std::this_thread::sleep_for(250ms);
    auto probe = pq_connect(ep.libpq_params());
    back = PQstatus(probe.get()) == CONNECTION_OK && pq_value(probe.get(), "SELECT 1") == "1";
  }
  ASSERT_TRUE(back) << "PostgreSQL did not come back\n" << ep.output();
  ASSERT_TRUE(ep.running());
}

// 4b. The same after PostgreSQL restarted every backend (one of them crashed). Here the front's
// backend was ended with a WARNING, not a FATAL, and libpq 15 reports the next query's failure
// ("server closed the connection unexpectedly") with the connection still CONNECTION_OK.
TEST(LocalHardeningFront, MappedRoleLogsInAfterPostgresRestartsItsBackends) {
  local_endpoint ep;
  {
    auto admin = connect_ok(ep);
    ASSERT_EQ(PQstatus(admin.get()), CONNECTION_OK);
    ASSERT_NO_FATAL_FAILURE(map_app_role(ep, admin.get()));
  }
  ASSERT_NO_FATAL_FAILURE(crash_a_backend(ep));
  expect_app_logs_in(ep);
}

// 9b. Server messages on the front's own connections reached its stderr raw. NOTICEs are gone;
// after PostgreSQL restarts its backends, a WARNING must not come through either (libpq's
// default notice processor printed "WARNING:  terminating connection because of crash of
// another server process" with its DETAIL and HINT lines, unprefixed).
TEST(LocalHardeningFront, BackendRestartPrintsNoRawServerMessage) {
  local_endpoint ep;
  {
    auto admin = connect_ok(ep);
    ASSERT_EQ(PQstatus(admin.get()), CONNECTION_OK);
    ASSERT_NO_FATAL_FAILURE(map_app_role(ep, admin.get()));
  }
  ASSERT_NO_FATAL_FAILURE(crash_a_backend(ep));
  // Non-admin logins use the front's bookkeeping connection (refusals do not matter here).
  for (int i = 0; i < 2; ++i) (void)pq_connect(ep.libpq_params("app"));
  for (const auto& line : lines_of(ep.output())) {
    for (const char* raw : {"NOTICE:", "WARNING:", "DETAIL:", "HINT:"}) {
      EXPECT_NE(line.rfind(raw, 0), 0u) << "a raw server message: " << line;
    }
  }
}

// 4c. When the mappings cannot be read at all, the login is refused as retryable (57P03), with
// the real cause in the log, instead of a 28000 that blamed the mapping.
TEST(LocalHardeningFront, UnreadableMappingsAreARetryableRefusal) {
  local_endpoint ep;
  auto admin = connect_ok(ep);
  ASSERT_EQ(PQstatus(admin.get()), CONNECTION_OK);
  ASSERT_NO_FATAL_FAILURE(map_app_role(ep, admin.get()));
  ASSERT_EQ(pq_value(admin.get(), "ALTER TABLE sys.iam_pg_role_mappings RENAME TO iam_away"), "");

  auto app = pq_connect(ep.libpq_params("app"));
  EXPECT_NE(PQstatus(app.get()), CONNECTION_OK);
  const std::string message = PQerrorMessage(app.get());
  EXPECT_NE(message.find("could not check IAM role mappings; please retry"), std::string::npos)
      << message;
  EXPECT_NE(ep.output().find("iam_pg_role_mappings\" does not exist"), std::string::npos)
      << ep.output();
  EXPECT_EQ(ep.output().find("is not mapped to it"), std::string::npos) << ep.output();

  ASSERT_EQ(pq_value(admin.get(), "ALTER TABLE sys.iam_away RENAME TO iam_pg_role_mappings"), "");
  expect_app_logs_in(ep);
}

// Asks for TLS (SSLRequest) and shakes hands with `server_name` as SNI, then reads what the
// server says until it closes. For names libpq will not send.
void tls_hello(std::uint16_t port, const std::string& server_name) {
  const int fd = dsql::test::connect_loopback(port);
  const unsigned char ssl_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
  char answer = 0;
  if (::write(fd, ssl_request, sizeof ssl_request) == 8 && ::read(fd, &answer, 1) == 1 &&
      answer == 'S') {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          SSL_CTX_free);
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    SSL_set_fd(ssl.get(), fd);
    SSL_set_tlsext_host_name(ssl.get(), server_name.c_str());
    if (SSL_connect(ssl.get()) == 1) {
      char buf[512];
      while (SSL_read(ssl.get(), buf, sizeof buf) > 0) {
      }
    }
  }
  ::close(fd);
}

// 5. User names and TLS server names were written raw into the endpoint's log: a newline
// forged a line, a 10,000-character value was printed whole.
TEST(LocalHardeningFront, ClientTextCannotForgeOrFloodTheLog) {
  local_endpoint ep;
  const std::string forged = "front[999]: user admin connected";
  for (const std::string& user : {"admin\n" + forged, std::string(9900, 'x'),
                                  std::string(10000, 'y'), "admin\r" + forged + "\x1b[2K"}) {
    // Refusals are expected: what matters is what the log says about them.
    (void)pq_connect(ep.libpq_params(user));
  }
  // A TLS server name with a newline (libpq sends none such: a handshake of our own does).
  tls_hello(ep.port(), "evil.example.com\n" + forged);

  const std::string out = ep.output();
  // The texts did reach the log (escaped), so the checks below are not vacuous.
  EXPECT_NE(out.find(forged), std::string::npos) << out.substr(0, 4000);
  EXPECT_NE(out.find(std::string(150, 'x')), std::string::npos) << out.substr(0, 4000);
  for (const auto& line : lines_of(out)) {
    EXPECT_NE(line.rfind("front[", 0), 0u) << "a forged line: " << line;
    EXPECT_LE(line.size(), 1000u) << line.substr(0, 200) << "...";
    EXPECT_EQ(line.find('\r'), std::string::npos) << line.substr(0, 200);
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line.substr(0, 200);
  }
}

// 7. The front accepted any TLS server name; one that is not the endpoint's is now refused, as
// DSQL (which routes by it) refuses it.
TEST(LocalHardeningFront, ForeignTlsServerNameIsRefused) {
  local_endpoint ep;
  // The token is good (signed for localhost): only the server name can be refused.
  auto params = with_param(ep.libpq_params(), "host", "evil.example.com");
  params = with_param(params, "hostaddr", "127.0.0.1");
  params = with_param(params, "sslmode", "require");
  params = with_param(params, "sslrootcert", "");
  auto conn = pq_connect(params);
  EXPECT_NE(PQstatus(conn.get()), CONNECTION_OK) << ep.output();
  const std::string message = PQerrorMessage(conn.get());
  EXPECT_NE(message.find("unable to accept connection, access denied"), std::string::npos)
      << message;
}

TEST(LocalHardeningFront, EndpointTlsServerNamesAreAccepted) {
  local_endpoint ep;
  for (const std::string& name : {ep.cluster_endpoint(), std::string("localhost")}) {
    SCOPED_TRACE(name);
    auto params = with_param(ep.libpq_params(), "host", name);
    params = with_param(params, "hostaddr", "127.0.0.1");
    params = with_param(params, "password", ep.token("admin", name));
    auto conn = pq_connect(params);  // verify-full against the endpoint's CA
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get()) << ep.output();
    EXPECT_EQ(pq_value(conn.get(), "SELECT 1"), "1");
  }
}

}  // namespace
