#include "server_error.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace dsql::detail {
namespace {

resolved_config settings(const std::string& user = "admin") {
  resolved_config s;
  s.source.user = user;
  s.target.host = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
  s.target.token_host = s.target.host;
  s.target.region = "us-east-1";
  s.target.port = 5432;
  return s;
}

TEST(ServerError, ParsesLibpqVerboseConnectionErrors) {
  const auto f = parse_verbose_error(
      "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  28000: "
      "unable to accept connection, access denied\nHINT:  Wrong user to action mapping. user: "
      "admin, action: DbConnect\nLOCATION:  auth.c:10\n");
  EXPECT_EQ(f.severity, "FATAL");
  EXPECT_EQ(f.sqlstate, "28000");
  EXPECT_EQ(f.message, "unable to accept connection, access denied");
  EXPECT_EQ(f.hint, "Wrong user to action mapping. user: admin, action: DbConnect");
}

TEST(ServerError, RefusalsBecomeAuthErrorsWithADiagnosis) {
  try {
    throw_connect_failure(
        "connection to server failed: FATAL:  28000: unable to accept connection, access "
        "denied\nHINT:  Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z\n",
        settings());
    FAIL();
  } catch (const auth_error& e) {
    EXPECT_EQ(e.sqlstate(), "28000");
    EXPECT_TRUE(e.signature_expired());
    EXPECT_NE(e.diagnosis().find("clock"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("Signature expired"), std::string::npos);
  }
  try {
    throw_connect_failure(
        "failed: FATAL:  28000: unable to accept connection, access denied\nHINT:  Wrong user to "
        "action mapping. user: admin, action: DbConnect\n",
        settings());
    FAIL();
  } catch (const auth_error& e) {
    EXPECT_FALSE(e.signature_expired());
    EXPECT_NE(e.diagnosis().find("DbConnectAdmin"), std::string::npos);
  }
  try {
    throw_connect_failure("failed: FATAL:  28000: unable to accept connection, access denied\n",
                          settings("app"));
    FAIL();
  } catch (const auth_error& e) {
    EXPECT_NE(e.diagnosis().find("dsql:DbConnect"), std::string::npos);
    EXPECT_NE(e.diagnosis().find("AWS IAM GRANT app"), std::string::npos);
  }
  auto mismatched = settings();
  mismatched.target.region = "eu-west-1";
  try {
    throw_connect_failure("failed: FATAL:  28000: unable to accept connection, access denied\n",
                          mismatched);
    FAIL();
  } catch (const auth_error& e) {
    EXPECT_NE(e.diagnosis().find("host says region 'us-east-1'"), std::string::npos);
  }
}

TEST(ServerError, NetworkFailuresAreConnectionErrors) {
  EXPECT_THROW(throw_connect_failure("connection to server at \"localhost\" (127.0.0.1), port 1 "
                                     "failed: Connection refused\n",
                                     settings()),
               connection_error);
  try {
    throw_connect_failure("could not translate host name", settings());
  } catch (const auth_error&) {
    FAIL() << "not a refusal";
  } catch (const connection_error& e) {
    EXPECT_NE(std::string(e.what()).find("abcdefghijklmnopqrstuvwxyz"), std::string::npos);
  }
}

TEST(ServerError, QuotaRefusalsAreTheirOwnConnectionErrors) {
  try {
    throw_connect_failure(
        "connection to server failed: FATAL:  53400: Unable to accept connection, rate "
        "exceeded.\n",
        settings());
    FAIL() << "expected rate_limited_error";
  } catch (const rate_limited_error& e) {
    EXPECT_EQ(e.sqlstate(), "53400");
    EXPECT_EQ(e.server_message(), "Unable to accept connection, rate exceeded.");
    EXPECT_NE(std::string(e.what()).find("rate exceeded"), std::string::npos);
  }
  try {
    throw_connect_failure(
        "connection to server failed: FATAL:  53300: Unable to accept connection, too many open "
        "connections.\n",
        settings());
    FAIL() << "expected too_many_connections_error";
  } catch (const too_many_connections_error& e) {
    EXPECT_EQ(e.sqlstate(), "53300");
    EXPECT_NE(std::string(e.what()).find("capacity exhausted"), std::string::npos) << e.what();
  }
  // Old catch sites still see a failed connect, and neither is taken for a refused login.
  EXPECT_THROW(throw_connect_failure("FATAL:  53400: rate exceeded.\n", settings()),
               connection_error);
  try {
    throw_connect_failure("FATAL:  53300: too many open connections.\n", settings());
  } catch (const auth_error&) {
    FAIL() << "a quota is not a refused login";
  } catch (const rate_limited_error&) {
    FAIL() << "53300 is not a rate refusal";
  } catch (const quota_error& e) {
    EXPECT_EQ(e.sqlstate(), "53300");
  }
}

// One accessor scheme for every error the server caused: the same five fields, read the same
// way, whether the login, a quota or a statement failed.
TEST(ServerError, EveryServerErrorNamesItsFieldsTheSameWay) {
  const auto read = [](const std::string& libpq_message) -> server_diagnostics {
    try {
      throw_connect_failure(libpq_message, settings());
    } catch (const server_diagnostics& d) {
      return d;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not server_diagnostics: " << e.what();
    }
    return {};
  };
  const server_diagnostics refused = read(
      "connection to server failed: FATAL:  28000: unable to accept connection, access denied\n"
      "DETAIL:  the token was signed for another host\nHINT:  sign for the cluster's own host\n");
  EXPECT_EQ(refused.sqlstate(), "28000");
  EXPECT_EQ(refused.server_message(), "unable to accept connection, access denied");
  EXPECT_EQ(refused.detail(), "the token was signed for another host");
  EXPECT_EQ(refused.hint(), "sign for the cluster's own host");
  EXPECT_FALSE(refused.diagnosis().empty());

  const server_diagnostics rate = read(
      "connection to server failed: FATAL:  53400: Unable to accept connection, rate exceeded.\n"
      "HINT:  slow down\n");
  EXPECT_EQ(rate.sqlstate(), "53400");
  EXPECT_EQ(rate.server_message(), "Unable to accept connection, rate exceeded.");
  EXPECT_EQ(rate.hint(), "slow down");

  const sql_error statement("23505: duplicate key", {"23505", "duplicate key", "Key (id)=(1)"});
  const server_diagnostics& d = statement;
  EXPECT_EQ(d.sqlstate(), "23505");
  EXPECT_EQ(d.detail(), "Key (id)=(1)");
  EXPECT_EQ(d.hint(), "");
}

}  // namespace
}  // namespace dsql::detail
