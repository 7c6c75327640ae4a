#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "credentials_test_support.hpp"
#include "support/fake_aws_server.hpp"

namespace dsql {
namespace {

using credential_sources::sso_cache_file_name;
using credential_sources::try_profile;
using test::credentials_error_of;
using test::scoped_env;

constexpr const char* start_url = "https://d-92671207e4.awsapps.com/start";

class Sso : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};  // HOME is dir: the token cache is dir/.aws/sso/cache
  test::fake_aws_server server;
  scoped_env endpoint{"AWS_ENDPOINT_URL_SSO", server.url()};
  const std::int64_t expiration_ms = 1893456000000;  // 2030-01-01T00:00:00Z

  Sso() {
    dir.write("config",
              "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
              "sso_role_name = ReadOnly\nregion = us-west-2\n"
              "[sso-session corp]\nsso_region = us-east-1\nsso_start_url = " +
                  std::string(start_url) + "\n[profile legacy]\nsso_start_url = " + start_url +
                  "\nsso_region = us-east-1\nsso_account_id = 123456789012\n"
                  "sso_role_name = ReadOnly\n");
  }

  void cache_token(const std::string& key, const std::string& expires_at) const {
    std::filesystem::create_directories(dir.file(".aws/sso/cache"));
    dir.write(".aws/sso/cache/" + sso_cache_file_name(key),
              "{\"startUrl\":\"" + std::string(start_url) +
                  "\",\"region\":\"us-east-1\","
                  "\"accessToken\":\"" +
                  test::sso_access_token() + "\",\"expiresAt\":\"" + expires_at + "\"}");
  }

  void serve_portal() {
    server.on("GET", "/federation/credentials",
              test::scripted_response{
                  200, "{\"roleCredentials\":{\"accessKeyId\":\"ASIASSO\",\"secretAccessKey\":\"" +
                           test::cloud_secret() + "\",\"sessionToken\":\"" + test::cloud_token() +
                           "\",\"expiration\":" + std::to_string(expiration_ms) + "}}"});
  }
};

TEST(SsoCache, FileNameIsTheSha1HexOfSessionNameOrStartUrl) {
  EXPECT_EQ(sso_cache_file_name("corp"), "ee0bfd2552fbd840c02cc48b6e823320543c450f.json");
  EXPECT_EQ(sso_cache_file_name(start_url), "13f9d35043871d073ab260e020f0ffde092cb14b.json");
}

TEST_F(Sso, SessionProfileEndToEnd) {
  cache_token("corp", test::iso_in(std::chrono::hours(8)));
  serve_portal();
  const auto c = try_profile(aws_config::load(), "sso", true);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIASSO");
  EXPECT_EQ(c->secret_access_key, test::cloud_secret());
  EXPECT_EQ(c->session_token, test::cloud_token());
  EXPECT_EQ(c->source, "sso:sso");
  ASSERT_TRUE(c->expiration);
  EXPECT_EQ(util::format_iso8601(*c->expiration), "2030-01-01T00:00:00Z");

  const auto reqs = server.requests("GET", "/federation/credentials");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].query, "account_id=123456789012&role_name=ReadOnly");
  EXPECT_EQ(reqs[0].header("x-amz-sso_bearer_token"), test::sso_access_token());
}

TEST_F(Sso, CachedTokenExpiringIn9999IsStillValid) {
  cache_token("corp", "9999-12-31T23:59:59Z");
  serve_portal();
  const auto c = try_profile(aws_config::load(), "sso", true);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIASSO");
}

TEST_F(Sso, PortalExpirationBeyondTheClockIsFarFuture) {
  cache_token("corp", test::iso_in(std::chrono::hours(8)));
  server.on("GET", "/federation/credentials",
            test::scripted_response{
                200, "{\"roleCredentials\":{\"accessKeyId\":\"ASIASSO\",\"secretAccessKey\":\"" +
                         test::cloud_secret() + "\",\"sessionToken\":\"" + test::cloud_token() +
                         "\",\"expiration\":253402300799000}}"});
  const auto c = try_profile(aws_config::load(), "sso", true);
  ASSERT_TRUE(c && c->expiration);
  EXPECT_GT(*c->expiration, std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100));
}

TEST_F(Sso, LegacyProfileUsesTheStartUrlAsCacheKey) {
  cache_token(start_url, test::iso_in(std::chrono::hours(8)));
  serve_portal();
  EXPECT_EQ(try_profile(aws_config::load(), "legacy", true)->source, "sso:legacy");
}

TEST_F(Sso, MissingOrExpiredTokenSaysToLogIn) {
  serve_portal();
  std::string msg = credentials_error_of([] { try_profile(aws_config::load(), "sso", true); });
  EXPECT_NE(msg.find("no cached SSO token"), std::string::npos) << msg;
  EXPECT_NE(msg.find("aws sso login --sso-session corp"), std::string::npos) << msg;

  msg = credentials_error_of([] { try_profile(aws_config::load(), "legacy", true); });
  EXPECT_NE(msg.find("aws sso login --profile legacy"), std::string::npos) << msg;

  cache_token("corp", test::iso_in(-std::chrono::minutes(1)));
  msg = credentials_error_of([] { try_profile(aws_config::load(), "sso", true); });
  EXPECT_NE(msg.find("expired"), std::string::npos) << msg;
  EXPECT_NE(msg.find("run `aws sso login --sso-session corp`"), std::string::npos) << msg;

  dir.write(".aws/sso/cache/" + sso_cache_file_name("corp"), "{\"accessToken\": 42}");
  msg = credentials_error_of([] { try_profile(aws_config::load(), "sso", true); });
  EXPECT_NE(msg.find("is not valid"), std::string::npos) << msg;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Sso, PortalErrorsNameTheFix) {
  cache_token("corp", test::iso_in(std::chrono::hours(8)));
  const std::vector<std::pair<test::scripted_response, std::string>> cases = {
      {{401, R"({"message":"Session token not found or invalid"})"},
       "no longer valid: run `aws sso login --sso-session corp`"},
      {{403, R"({"__type":"ForbiddenException","message":"No access"})"},
       "role ReadOnly in account 123456789012"},
      {{200, "{\"roleCredentials\":{}}"}, "without accessKeyId"},
      {{200, "<html>"}, "no roleCredentials"},
      {{500, ""}, "retry later"},
  };
  for (const auto& [answer, expected] : cases) {
    test::fake_aws_server s;
    scoped_env ep("AWS_ENDPOINT_URL_SSO", s.url());
    s.on("GET", "/federation/credentials", answer);
    const std::string msg =
        credentials_error_of([] { try_profile(aws_config::load(), "sso", true); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    EXPECT_NE(msg.find("AWS profile 'sso' (SSO)"), std::string::npos) << msg;
  }
}

TEST_F(Sso, ConfigurationErrors) {
  dir.write("config",
            "[profile nosession]\nsso_session = gone\nsso_account_id = 1\nsso_role_name = r\n"
            "[profile norole]\nsso_session = corp\nsso_account_id = 1\n"
            "[sso-session corp]\nsso_region = us-east-1\nsso_start_url = " +
                std::string(start_url) + "\n");
  std::string msg =
      credentials_error_of([] { try_profile(aws_config::load(), "nosession", true); });
  EXPECT_NE(msg.find("no [sso-session gone] section"), std::string::npos) << msg;
  msg = credentials_error_of([] { try_profile(aws_config::load(), "norole", true); });
  EXPECT_NE(msg.find("no sso_role_name"), std::string::npos) << msg;
}

TEST_F(Sso, DefaultEndpointIsThePortalOfTheSsoRegion) {
  // Without an override the request would go to portal.sso.<region>.amazonaws.com; with
  // AWS_ENDPOINT_URL (the generic override) it goes to the local server.
  cache_token("corp", test::iso_in(std::chrono::hours(8)));
  serve_portal();
  scoped_env no_sso("AWS_ENDPOINT_URL_SSO", std::nullopt);
  scoped_env any("AWS_ENDPOINT_URL", server.url());
  EXPECT_EQ(try_profile(aws_config::load(), "sso", true)->access_key_id, "ASIASSO");
}

}  // namespace
}  // namespace dsql
