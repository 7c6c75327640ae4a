// What `dsql token` and `dsql psql` refuse before anything is signed or run (hosts with a port,
// brackets or a leading '-', an empty --user), which region they sign for (an explicit --region
// wins over the host's, with one warning line on stderr; AWS_REGION never does), and what
// --debug says: the credential source, on stderr, never a secret.

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

// The region a token was signed for: the one in its credential scope.
std::string signed_region(const std::string& token) {
  const std::string marker = "%2Fdsql%2Faws4_request";
  const auto end = token.find(marker);
  if (end == std::string::npos) return "(no credential scope in: " + token + ")";
  const auto begin = token.rfind("%2F", end - 1);
  return token.substr(begin + 3, end - begin - 3);
}

// Success with a warning: the token alone on stdout, exactly one warning line on stderr.
void expect_warned(const process_result& r, const std::vector<std::string>& needles) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("dsql: warning: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << n << " in " << r.err;
  EXPECT_EQ(r.err.find(secret), std::string::npos);
}

TEST(CliArguments, TokenExplicitRegionWinsOverTheHostsWithAWarning) {
  const auto r = dsql({"token", "--host", east, "--region", "us-west-2"});
  expect_warned(r, {"--region 'us-west-2' wins over the region of host", east, "'us-east-1'"});
  EXPECT_EQ(r.out.rfind(east + "/?Action=DbConnectAdmin&", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "not one line: " << r.out;
  EXPECT_EQ(signed_region(r.out), "us-west-2");

  // A region that cannot sign is an error, and the error stays the one line on stderr.
  expect_refused(dsql({"token", "--host", east, "--region", "us west 2"}), {"'us west 2'"});

  // Agreeing regions, and regions for hosts that name none, sign quietly.
  const auto agree = dsql({"token", "--host", east, "--region", "us-east-1"});
  EXPECT_EQ(agree.exit_code, 0);
  EXPECT_EQ(agree.err, "");
  EXPECT_EQ(signed_region(agree.out), "us-east-1");
  const auto other = dsql({"token", "--host", "db.example.com", "--region", "eu-west-1"});
  EXPECT_EQ(other.err, "");
  EXPECT_EQ(signed_region(other.out), "eu-west-1");
}

TEST(CliArguments, TokenRegionVariablesLoseToTheHostsQuietly) {
  env_overrides env = env_with_keys();
  env["AWS_REGION"] = "us-west-2";
  env["AWS_DEFAULT_REGION"] = "eu-west-1";
  const auto r = dsql({"token", "--host", east}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(signed_region(r.out), "us-east-1");
  // For a host that names no region, AWS_REGION is the region.
  EXPECT_EQ(signed_region(dsql({"token", "--host", "db.example.com"}, env).out), "us-west-2");
}

TEST(CliArguments, HelpSaysWhichRegionWins) {
  for (const char* command : {"token", "psql"}) {
    const auto r = dsql({command, "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("it wins even over a DSQL endpoint's own region"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("the variables never override the host's region"), std::string::npos)
        << r.out;
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

TEST(CliArguments, PsqlExplicitRegionWinsOverTheHostsWithAWarning) {
  expect_warned(dsql({"psql", east, "--region", "us-west-2", "--psql", "/bin/true"}),
                {"--region 'us-west-2' wins", "'us-east-1'"});
  expect_warned(
      dsql({"psql", "dsql://" + east + "/postgres?region=us-west-2", "--psql", "/bin/true"}),
      {"the URI's region 'us-west-2' wins", "'us-east-1'"});
  env_overrides env = env_with_keys();
  env["AWS_REGION"] = "eu-west-1";
  const auto quiet = dsql({"psql", east, "--psql", "/bin/true"}, env);
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
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
