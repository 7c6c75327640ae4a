// `dsql psql` against `dsql local`: psql gets a fresh token in its environment, never on its
// command line, with verify-full and the endpoint's CA.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>

#include "local_endpoint.hpp"
#include "support/run_process.hpp"
#include "unit/test_support.hpp"

namespace dsql::test {
namespace {

class CliPsql : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { endpoint_ = std::make_unique<local_endpoint>(); }
  static void TearDownTestSuite() { endpoint_.reset(); }

  static std::map<std::string, std::optional<std::string>> env() {
    return {{"AWS_ACCESS_KEY_ID", endpoint_->access_key_id()},
            {"AWS_SECRET_ACCESS_KEY", endpoint_->secret_access_key()},
            {"AWS_SESSION_TOKEN", std::nullopt},
            {"AWS_PROFILE", std::nullopt},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"PGPASSWORD", std::nullopt},
            {"CLUSTER_ENDPOINT", std::nullopt}};
  }

  static std::vector<std::string> args(std::vector<std::string> extra) {
    std::vector<std::string> a{dsql_binary(),
                               "psql",
                               "localhost",
                               "--region",
                               endpoint_->region(),
                               "--port",
                               std::to_string(endpoint_->port()),
                               "--sslrootcert",
                               endpoint_->ca_file()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  static std::unique_ptr<local_endpoint> endpoint_;
};
std::unique_ptr<local_endpoint> CliPsql::endpoint_;

TEST_F(CliPsql, RunsPsqlWithAFreshToken) {
  const auto r = run_process(args({"--", "-At", "-c",
                                   "SELECT current_user || ' ' || "
                                   "current_setting('application_name')"}),
                             env());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find(' ')), "admin") << r.out;
  EXPECT_NE(r.out.find("aurora-dsql-cpp/"), std::string::npos) << r.out;
}

TEST_F(CliPsql, TokenTravelsInTheEnvironmentNotOnTheCommandLine) {
  // A stand-in for psql that records what it was given.
  const std::string dir = ::testing::TempDir() + "/dsql_psql_probe";
  ::mkdir(dir.c_str(), 0700);
  const std::string probe = dir + "/fake-psql";
  const std::string record = dir + "/record";
  {
    std::ofstream(probe) << "#!/bin/sh\nprintf '%s\\n' \"$@\" > " << record
                         << ".args\nprintf '%s' \"$PGPASSWORD\" > " << record << ".password\n";
  }
  ::chmod(probe.c_str(), 0700);
  const auto r = run_process(args({"--psql", probe, "--", "-c", "SELECT 1"}), env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string argv = read_file(record + ".args");
  const std::string password = read_file(record + ".password");
  EXPECT_EQ(argv.find("X-Amz-"), std::string::npos) << argv;
  EXPECT_NE(argv.find("sslmode='verify-full'"), std::string::npos) << argv;
  EXPECT_NE(argv.find("sslrootcert='" + endpoint_->ca_file() + "'"), std::string::npos) << argv;
  EXPECT_NE(argv.find("\n-c\nSELECT 1"), std::string::npos) << argv;
  EXPECT_EQ(password.rfind("localhost/?Action=DbConnectAdmin&", 0), 0u) << "no token in PGPASSWORD";
}

TEST_F(CliPsql, ClearErrorsWithoutPsqlOrTarget) {
  const auto missing = run_process(args({"--psql", "/nonexistent/psql"}), env());
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("postgresql-client"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.err.find(endpoint_->secret_access_key()), std::string::npos);

  const auto no_target = run_process({dsql_binary(), "psql"}, env());
  EXPECT_NE(no_target.exit_code, 0);
  EXPECT_NE(no_target.err.find("CLUSTER_ENDPOINT"), std::string::npos) << no_target.err;

  const auto bad_uri = run_process({dsql_binary(), "psql", "mysql://x"}, env());
  EXPECT_NE(bad_uri.exit_code, 0);
  EXPECT_NE(bad_uri.err.find("unsupported URI scheme"), std::string::npos) << bad_uri.err;
}

}  // namespace
}  // namespace dsql::test
