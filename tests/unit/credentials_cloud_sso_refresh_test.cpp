// SSO token refresh as botocore's SSOTokenProvider does it, against
// tests/support/fake_sso_oidc_service: a session profile's cached token within 15 minutes of
// expiry is refreshed through SSO-OIDC CreateToken, the cache rewritten atomically and 0600;
// what cannot be refreshed says why and to run `aws sso login`, without a secret.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "credentials_test_support.hpp"
#include "support/fake_aws_server.hpp"
#include "support/fake_sso_oidc_service.hpp"

namespace dsql {
namespace {

using credential_sources::sso_cache_file_name;
using credential_sources::try_profile;
using nlohmann::json;
using test::credentials_error_of;
using test::scoped_env;

constexpr const char* start_url = "https://d-92671207e4.awsapps.com/start";

class SsoRefresh : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};
  test::fake_aws_server portal;
  test::fake_aws_server oidc_server;
  scoped_env portal_endpoint{"AWS_ENDPOINT_URL_SSO", portal.url()};
  scoped_env oidc_endpoint{"AWS_ENDPOINT_URL_SSO_OIDC", oidc_server.url()};
  std::unique_ptr<test::fake_sso_oidc_service> oidc;
  const credential_sources::network_settings net = test::fast_network();

  SsoRefresh() {
    dir.write("config",
              "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
              "sso_role_name = ReadOnly\n[sso-session corp]\nsso_region = us-east-1\n"
              "sso_start_url = " +
                  std::string(start_url) + "\n[profile legacy]\nsso_start_url = " + start_url +
                  "\nsso_region = us-east-1\nsso_account_id = 123456789012\n"
                  "sso_role_name = ReadOnly\n");
    test::fake_sso_oidc_service::settings s;
    s.client_secret = test::sso_client_secret();
    s.refresh_token = test::sso_refresh_token();
    s.access_token = test::sso_new_access_token();
    s.next_refresh_token = test::sso_rotated_refresh_token();
    oidc = std::make_unique<test::fake_sso_oidc_service>(oidc_server, s);
    portal.on("GET", "/federation/credentials",
              test::scripted_response{
                  200, "{\"roleCredentials\":{\"accessKeyId\":\"ASIASSO\",\"secretAccessKey\":\"" +
                           test::cloud_secret() + "\",\"sessionToken\":\"" + test::cloud_token() +
                           "\",\"expiration\":1893456000000}}"});
  }

  std::string cache_path(const std::string& key = "corp") const {
    return dir.file(".aws/sso/cache/" + sso_cache_file_name(key));
  }
  // What `aws sso login` caches for a session: the token and the client registration.
  json cli_cache(const std::string& expires_at) const {
    return {{"startUrl", start_url},
            {"region", "us-east-1"},
            {"accessToken", test::sso_access_token()},
            {"expiresAt", expires_at},
            {"clientId", "_yzkThXVzLWVhc3QtMQEXAMPLECLIENTID"},
            {"clientSecret", test::sso_client_secret()},
            {"registrationExpiresAt", test::iso_in(std::chrono::hours(24 * 80))},
            {"refreshToken", test::sso_refresh_token()}};
  }
  void write_cache(const json& doc, const std::string& key = "corp") const {
    std::filesystem::create_directories(dir.file(".aws/sso/cache"));
    dir.write(".aws/sso/cache/" + sso_cache_file_name(key), doc.dump());
  }
  json cached(const std::string& key = "corp") const {
    return json::parse(test::read_file(cache_path(key)));
  }
  std::optional<credentials> resolve(const std::string& profile = "sso") const {
    return try_profile(aws_config::load(), profile, true,
                       credential_sources::default_process_timeout, net);
  }
  std::string portal_token() const {
    const auto reqs = portal.requests("GET", "/federation/credentials");
    return reqs.empty() ? "" : reqs.back().header("x-amz-sso_bearer_token").value_or("");
  }
};

TEST_F(SsoRefresh, ATokenWellBeforeExpiryIsUsedWithoutRefresh) {
  write_cache(cli_cache(test::iso_in(std::chrono::minutes(20))));
  EXPECT_EQ(resolve()->access_key_id, "ASIASSO");
  EXPECT_EQ(portal_token(), test::sso_access_token());
  EXPECT_TRUE(oidc_server.requests().empty());
}

TEST_F(SsoRefresh, ATokenWithinFifteenMinutesOfExpiryIsRefreshedAndCached) {
  // Kept to compare with: a second cache made later could name another second.
  const json before = cli_cache(test::iso_in(std::chrono::minutes(10)));
  write_cache(before);
  ::chmod(cache_path().c_str(), 0644);
  EXPECT_EQ(resolve()->access_key_id, "ASIASSO");
  EXPECT_EQ(oidc->refreshes(), 1);
  EXPECT_EQ(oidc->problems(), std::vector<std::string>{});
  EXPECT_EQ(portal_token(), test::sso_new_access_token());

  const auto reqs = oidc_server.requests("POST", "/token");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(json::parse(reqs[0].body), (json{{"grantType", "refresh_token"},
                                             {"clientId", "_yzkThXVzLWVhc3QtMQEXAMPLECLIENTID"},
                                             {"clientSecret", test::sso_client_secret()},
                                             {"refreshToken", test::sso_refresh_token()}}));
  EXPECT_FALSE(reqs[0].header("authorization"));

  const json doc = cached();
  EXPECT_EQ(doc["accessToken"], test::sso_new_access_token());
  EXPECT_EQ(doc["refreshToken"], test::sso_rotated_refresh_token());
  const auto expires = util::parse_expiration(doc["expiresAt"].get<std::string>());
  ASSERT_TRUE(expires);
  EXPECT_GT(*expires, std::chrono::system_clock::now() + std::chrono::hours(7));
  for (const char* kept :
       {"startUrl", "region", "clientId", "clientSecret", "registrationExpiresAt"}) {
    EXPECT_EQ(doc[kept], before[kept]) << kept;
  }
  struct stat st {};
  ASSERT_EQ(::stat(cache_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Eight hours ahead now: the next resolve uses the refreshed token without a call.
  resolve();
  EXPECT_EQ(oidc->refreshes(), 1);
}

TEST_F(SsoRefresh, AnExpiredTokenIsRefreshedInsteadOfFailing) {
  write_cache(cli_cache(test::iso_in(-std::chrono::hours(2))));
  EXPECT_EQ(resolve()->access_key_id, "ASIASSO");
  EXPECT_EQ(portal_token(), test::sso_new_access_token());
}

TEST_F(SsoRefresh, AnAnswerWithoutARefreshTokenKeepsTheCachedOne) {
  test::fake_aws_server other;
  test::fake_sso_oidc_service::settings s;
  s.client_secret = test::sso_client_secret();
  s.refresh_token = test::sso_refresh_token();
  s.access_token = test::sso_new_access_token();
  test::fake_sso_oidc_service no_rotation(other, s);
  scoped_env ep("AWS_ENDPOINT_URL_SSO_OIDC", other.url());
  write_cache(cli_cache(test::iso_in(-std::chrono::minutes(1))));
  resolve();
  EXPECT_EQ(no_rotation.refreshes(), 1);
  EXPECT_EQ(cached()["refreshToken"], test::sso_refresh_token());
}

TEST_F(SsoRefresh, AFailedRefreshKeepsATokenThatStillWorks) {
  json doc = cli_cache(test::iso_in(std::chrono::minutes(10)));
  doc["refreshToken"] = "a-refresh-token-the-service-does-not-know";
  write_cache(doc);
  EXPECT_EQ(resolve()->access_key_id, "ASIASSO");
  EXPECT_EQ(portal_token(), test::sso_access_token());
  EXPECT_EQ(oidc_server.count("POST", "/token"), 1u);
}

TEST_F(SsoRefresh, WhatCannotBeRefreshedSaysWhyAndWhatToRun) {
  struct refusal {
    std::function<void(json&)> change;
    std::string why;
  };
  const std::vector<refusal> cases = {
      {[](json& d) { d.erase("refreshToken"); }, "the cache has no refreshToken"},
      {[](json& d) {
         d.erase("clientSecret");
         d.erase("registrationExpiresAt");
       },
       "the cache has no clientSecret, registrationExpiresAt"},
      {[](json& d) { d["registrationExpiresAt"] = test::iso_in(-std::chrono::hours(1)); },
       "the client registration expired at"},
      {[](json& d) { d["registrationExpiresAt"] = "soon"; },
       "registrationExpiresAt is not a valid"},
      {[](json& d) { d["refreshToken"] = "revoked-refresh-token"; },
       "(InvalidGrantException: invalid_grant: Invalid grant provided): the refresh token is no "
       "longer valid"},
      {[](json& d) { d["clientId"] = "another-client"; },
       "invalid_client: Client authentication failed): the client registration is no longer "
       "valid"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.why);
    json doc = cli_cache(test::iso_in(-std::chrono::minutes(3)));
    c.change(doc);
    write_cache(doc);
    const std::string msg = credentials_error_of([&] { resolve(); });
    EXPECT_EQ(msg.rfind("AWS profile 'sso' (SSO): the cached SSO token expired at ", 0), 0u) << msg;
    EXPECT_NE(msg.find("cannot be refreshed: "), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.why), std::string::npos) << msg;
    EXPECT_NE(msg.find("; run `aws sso login --sso-session corp`"), std::string::npos) << msg;
    EXPECT_EQ(cached(), doc) << "a failed refresh changed the cache";
  }
  EXPECT_TRUE(portal.requests().empty());
}

TEST_F(SsoRefresh, UnreachableOrBrokenOidcIsNamed) {
  write_cache(cli_cache(test::iso_in(-std::chrono::minutes(3))));
  {
    test::refused_port down;
    scoped_env ep("AWS_ENDPOINT_URL_SSO_OIDC", down.url());
    const std::string msg = credentials_error_of([&] { resolve(); });
    EXPECT_NE(msg.find("SSO-OIDC CreateToken at http://127.0.0.1:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("could not connect"), std::string::npos) << msg;
    EXPECT_NE(msg.find("AWS_ENDPOINT_URL_SSO_OIDC"), std::string::npos) << msg;
  }
  for (const auto& [answer, expected] :
       std::vector<std::pair<test::scripted_response, std::string>>{
           {{500, ""}, "retry later"},
           {{200, R"({"tokenType":"Bearer"})"}, "answered without accessToken and expiresIn"},
           {{200, R"({"accessToken":"x","expiresIn":0})"}, "answered without accessToken"}}) {
    test::fake_aws_server broken;
    broken.on("POST", "/token", answer);
    scoped_env ep("AWS_ENDPOINT_URL_SSO_OIDC", broken.url());
    const std::string msg = credentials_error_of([&] { resolve(); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
}

TEST_F(SsoRefresh, LegacyProfilesAreNeverRefreshed) {
  write_cache(cli_cache(test::iso_in(-std::chrono::minutes(3))), start_url);
  const std::string msg = credentials_error_of([&] { resolve("legacy"); });
  EXPECT_NE(msg.find("a legacy profile (sso_start_url without sso_session) is never refreshed"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("run `aws sso login --profile legacy`"), std::string::npos) << msg;
  EXPECT_TRUE(oidc_server.requests().empty());
}

TEST_F(SsoRefresh, NoFailureQuotesATokenOrTheClientSecret) {
  // An OIDC service that repeats what it was sent, in every field an error may carry.
  test::fake_aws_server echo;
  echo.on("POST", "/token", [](const test::recorded_request& r) {
    return test::scripted_response{
        400, json{{"error", r.body}, {"error_description", r.body}, {"message", r.body}}.dump()};
  });
  scoped_env ep("AWS_ENDPOINT_URL_SSO_OIDC", echo.url());
  write_cache(cli_cache(test::iso_in(-std::chrono::minutes(3))));
  const std::string msg = credentials_error_of([&] { resolve(); });
  test::expect_no_secrets(msg);
  EXPECT_NE(msg.find("[redacted]"), std::string::npos) << msg;
}

}  // namespace
}  // namespace dsql
