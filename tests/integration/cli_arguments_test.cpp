// What `dsql token` and `dsql psql` refuse before anything is signed or run: a --region (or
// AWS_REGION) that contradicts the host, hosts with a port, brackets or a leading '-', an empty
// --user. And what --debug says: the credential source, on stderr, never a secret.

#include <gtest/gtest.h>

#include "cli_env.hpp"
#include "support/run_process.hpp"
#include "unit/test_support.hpp"

namespace dsql::test {
namespace {

const std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

env_overrides env_with_keys() {
  env_overrides env = isolated_cli_env();
  env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
  env["AWS_SECRET_ACCESS_KEY"] = secret;
  return env;
}

process_result dsql(std::vector<std::string> args, env_overrides env = env_with_keys()) {
  args.insert(args.begin(), dsql_binary());
  return run_process(args, env);
}

// A refusal: non-zero exit, nothing on stdout, one line on stderr holding every needle.
void expect_refused(const process_result& r, const std::vector<std::string>& needles) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << n << " in " << r.err;
  EXPECT_EQ(r.err.find(secret), std::string::npos);
}

const std::string east = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";

TEST(CliArguments, TokenRegionThatContradictsTheHostIsRefused) {
  expect_refused(dsql({"token", "--host", east, "--region", "us-west-2"}),
                 {"--region", "us-west-2", "us-east-1", east});
  env_overrides env = env_with_keys();
  env["AWS_REGION"] = "us-west-2";
  expect_refused(dsql({"token", "--host", east}, env), {"AWS_REGION", "us-west-2", "us-east-1"});
  // Agreeing regions, and regions for hosts that name none, are fine.
  EXPECT_EQ(dsql({"token", "--host", east, "--region", "us-east-1"}).exit_code, 0);
  EXPECT_EQ(dsql({"token", "--host", "db.example.com"}, env).exit_code, 0);
  env["AWS_REGION"] = "us-east-1";
  EXPECT_EQ(dsql({"token", "--host", east}, env).exit_code, 0);
}

TEST(CliArguments, HelpSaysWhichRegionWins) {
  for (const char* command : {"token", "psql"}) {
    const auto r = dsql({command, "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("the host's own region wins"), std::string::npos) << r.out;
  }
}

TEST(CliArguments, TokenHostsThatAreNotHostNamesAreRefused) {
  expect_refused(dsql({"token", "--host", "localhost:5432", "--region", "us-east-1"}),
                 {"'localhost:5432'", "port"});
  expect_refused(dsql({"token", "--host", "[::1]", "--region", "us-east-1"}),
                 {"'[::1]'", "brackets", "::1"});
  expect_refused(dsql({"token", "--host", "-x", "--region", "us-east-1"}), {"'-x'", "'-'"});
  expect_refused(dsql({"token", "--host=-x", "--region", "us-east-1"}), {"'-x'", "'-'"});
  const auto v6 = dsql({"token", "--host", "::1", "--region", "us-east-1"});
  EXPECT_EQ(v6.exit_code, 0) << v6.err;
  EXPECT_EQ(v6.out.rfind("::1/?Action=DbConnectAdmin&", 0), 0u) << v6.out;
}

TEST(CliArguments, EmptyUserIsRefused) {
  expect_refused(dsql({"token", "--host", east, "--user", ""}), {"--user", "empty"});
  expect_refused(dsql({"psql", east, "--user", "", "--psql", "/bin/true"}), {"--user", "empty"});
}

TEST(CliArguments, PsqlRegionThatContradictsTheHostIsRefused) {
  expect_refused(dsql({"psql", east, "--region", "us-west-2", "--psql", "/bin/true"}),
                 {"us-west-2", "us-east-1"});
  expect_refused(
      dsql({"psql", "dsql://" + east + "/postgres?region=us-west-2", "--psql", "/bin/true"}),
      {"us-west-2", "us-east-1"});
  env_overrides env = env_with_keys();
  env["AWS_REGION"] = "eu-west-1";
  expect_refused(dsql({"psql", east, "--psql", "/bin/true"}, env),
                 {"AWS_REGION", "eu-west-1", "us-east-1"});
}

TEST(CliArguments, PsqlHostsWithAPortAreRefused) {
  expect_refused(dsql({"psql", "localhost:5432", "--region", "us-east-1", "--psql", "/bin/true"}),
                 {"'localhost:5432'", "port", "--port"});
  expect_refused(dsql({"psql", "[::1]", "--region", "us-east-1", "--psql", "/bin/true"}),
                 {"'[::1]'", "brackets"});
}

TEST(CliArguments, DebugPsqlSaysWhichCredentialSourceWasUsed) {
  const auto r =
      dsql({"--debug", "psql", "localhost", "--region", "us-east-1", "--psql", "/bin/true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("dsql: credentials from environment (access key ID ending MPLE)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find(secret), std::string::npos);
  EXPECT_EQ(r.err.find("X-Amz-"), std::string::npos) << "a token on stderr: " << r.err;
}

}  // namespace
}  // namespace dsql::test
