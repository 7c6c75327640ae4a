// `dsql token` as DESIGN.md's contract states it: the token and a newline on stdout and nothing
// else; on any error a non-zero exit, one line on stderr and nothing on stdout.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_env.hpp"
#include "support/run_process.hpp"
#include "unit/test_support.hpp"

namespace dsql::test {
namespace {

using env_map = std::map<std::string, std::optional<std::string>>;

void expect_one_line_error(const process_result& r, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(CliToken, ReproducesAwsVectorsFromEnvironmentCredentials) {
  const auto vectors = nlohmann::json::parse(read_file(data_path("dsql_token_vectors.json")));
  for (const auto& c : vectors.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    env_map env = isolated_cli_env();
    env["AWS_ACCESS_KEY_ID"] = c.at("access_key_id").get<std::string>();
    env["AWS_SECRET_ACCESS_KEY"] = c.at("secret_access_key").get<std::string>();
    if (c.contains("session_token"))
      env["AWS_SESSION_TOKEN"] = c.at("session_token").get<std::string>();
    const bool admin = c.at("action") == "DbConnectAdmin";
    const auto r =
        run_process({dsql_binary(), "token", "--host", c.at("hostname"), "--region", c.at("region"),
                     "--user", admin ? "admin" : "app", "--expires-in",
                     std::to_string(c.at("expires_in").get<int>()), "--signing-time", c.at("time")},
                    env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, c.at("token").get<std::string>() + "\n");
    EXPECT_EQ(r.err, "");
  }
}

TEST(CliToken, AdminIsTheDefaultUserAndRegionComesFromTheHost) {
  env_map env = isolated_cli_env();
  env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
  env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const auto r = run_process(
      {dsql_binary(), "token", "--host", "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws",
       "--signing-time", "2026-01-15T12:34:56Z"},
      env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-Algorithm="
      "AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260115%2Fus-east-1%2Fdsql%2Faws4_"
      "request&X-Amz-Date=20260115T123456Z&X-Amz-Expires=900&X-Amz-Signature="
      "2ad91484ed83801f39f868dc5830a3d37edc780cdee2f0a6f43fcc4c1c48ab69&X-Amz-SignedHeaders="
      "host\n");
}

TEST(CliToken, ProfileCredentialsAreUsed) {
  const std::string dir = ::testing::TempDir() + "/cli_token_profile";
  (void)system(("mkdir -p " + dir).c_str());
  {
    std::ofstream(dir + "/credentials")
        << "[ci]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = "
           "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n";
  }
  env_map env = isolated_cli_env();
  env["AWS_SHARED_CREDENTIALS_FILE"] = dir + "/credentials";
  env["AWS_ACCESS_KEY_ID"] = "IGNORED";  // an explicit profile skips the environment
  env["AWS_SECRET_ACCESS_KEY"] = "IGNORED";
  const auto r = run_process(
      {dsql_binary(), "token", "--host", "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws",
       "--user", "app", "--profile", "ci", "--signing-time", "2026-01-15T12:34:56Z"},
      env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("X-Amz-Signature=9314578511c90ea415ef32a083ed2430c4741352b67d9b08c3622eed"
                       "623d56cb"),
            std::string::npos)
      << r.out;
}

TEST(CliToken, ErrorsAreOneLineOnStderrWithNothingOnStdout) {
  env_map env = isolated_cli_env();
  expect_one_line_error(run_process({dsql_binary(), "token"}, env), "--host");
  expect_one_line_error(
      run_process({dsql_binary(), "token", "--host", "x.dsql.us-east-1.on.aws"}, env),
      "credentials");
  env["AWS_ACCESS_KEY_ID"] = "AKID";
  env["AWS_SECRET_ACCESS_KEY"] = "SUPERSECRETVALUE";
  expect_one_line_error(run_process({dsql_binary(), "token", "--host", "db.example.com"}, env),
                        "region");
  for (const char* bad : {"0", "604801", "-1", "ten"}) {
    expect_one_line_error(run_process({dsql_binary(), "token", "--host", "x.dsql.us-east-1.on.aws",
                                       "--expires-in", bad},
                                      env),
                          "expir");
  }
  expect_one_line_error(run_process({dsql_binary(), "token", "--host", "x.dsql.us-east-1.on.aws",
                                     "--signing-time", "yesterday"},
                                    env),
                        "signing-time");
  expect_one_line_error(
      run_process({dsql_binary(), "token", "--host", "https://x.dsql.us-east-1.on.aws"}, env),
      "scheme");
  const auto unknown = run_process(
      {dsql_binary(), "token", "--host", "x.dsql.us-east-1.on.aws", "--profile", "nope"}, env);
  expect_one_line_error(unknown, "nope");
  EXPECT_EQ(unknown.err.find("SUPERSECRETVALUE"), std::string::npos);
}

TEST(CliToken, ImpossibleSigningTimesAreRefused) {
  env_map env = isolated_cli_env();
  env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
  env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  for (const char* bad : {"9999-12-31T23:59:59Z", "2300-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                          "1600-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-15T12:34:60Z",
                          "2026-13-01T00:00:00Z", "2026-01-15T12:34:56Zjunk"}) {
    SCOPED_TRACE(bad);
    expect_one_line_error(run_process({dsql_binary(), "token", "--host", "x.dsql.us-east-1.on.aws",
                                       "--signing-time", bad},
                                      env),
                          "--signing-time");
  }
}

TEST(CliToken, UserSuppliedTextInErrorsIsEscapedAndShort) {
  env_map env = isolated_cli_env();
  env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
  env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const std::string forged = "x\ndsql: forged line \x1b[31mred\x1b[0m";
  const std::string huge(10000, 'h');
  const std::vector<std::vector<std::string>> cases = {
      {"--host", forged},
      {"--host", huge},
      {"--host", "x.dsql.us-east-1.on.aws", "--profile", forged},
      {"--host", "x.dsql.us-east-1.on.aws", "--profile", huge},
      {"--host", "db.example.com", "--region", forged},
      {"--host", "x.dsql.us-east-1.on.aws", "--signing-time", forged + huge},
      {"--host", "x.dsql.us-east-1.on.aws", "--expires-in", forged},
      {"--host", "x.dsql.us-east-1.on.aws", "--bogus" + forged},
  };
  for (const auto& extra : cases) {
    std::vector<std::string> argv{dsql_binary(), "token"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run_process(argv, env);
    SCOPED_TRACE(r.err.substr(0, 300));
    expect_one_line_error(r, "dsql: ");
    EXPECT_LT(r.err.size(), 1500u);
    expect_no_control_characters(std::string_view(r.err).substr(0, r.err.size() - 1));
  }
}

}  // namespace
}  // namespace dsql::test
