#include <gtest/gtest.h>

#include <chrono>

#include "credentials_test_support.hpp"
#include "support/fake_aws_server.hpp"

namespace dsql {
namespace {

using credential_sources::fetch_imds;
using credential_sources::network_settings;
using credential_sources::source_unavailable;
using credential_sources::try_imds;
using test::credentials_error_of;
using test::scoped_env;

constexpr const char* token_path = "/latest/api/token";
constexpr const char* roles_path = "/latest/meta-data/iam/security-credentials/";
const std::string role_path = std::string(roles_path) + "dsql-app-role";
const std::string imds_session_token = "IMDSsessionTOKEN-ccccccccccccccccccccccccc";

class Imds : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};
  test::fake_aws_server server;
  scoped_env enabled{"AWS_EC2_METADATA_DISABLED", std::nullopt};
  scoped_env endpoint{"AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url()};
  network_settings net = test::fast_network();

  void serve_v2(const std::string& expiration = test::iso_in(std::chrono::hours(6))) {
    server.on("PUT", token_path, test::scripted_response{200, imds_session_token});
    server.on("GET", roles_path, test::scripted_response{200, "dsql-app-role\n"});
    server.on(
        "GET", role_path,
        test::scripted_response{200, test::metadata_credentials_json("ASIAIMDS", expiration)});
  }

  std::string error_of(const std::function<void()>& fn) {
    std::string msg = credentials_error_of(fn);
    EXPECT_EQ(msg.find(imds_session_token), std::string::npos) << msg;
    return msg;
  }
};

TEST_F(Imds, V2FlowTokenThenRoleThenCredentials) {
  const std::string expiration = test::iso_in(std::chrono::hours(6));
  serve_v2(expiration);
  const credentials c = fetch_imds(net, nullptr);
  EXPECT_EQ(c.access_key_id, "ASIAIMDS");
  EXPECT_EQ(c.secret_access_key, test::cloud_secret());
  EXPECT_EQ(c.session_token, test::cloud_token());  // from "Token"
  EXPECT_EQ(c.source, "imds:dsql-app-role");
  ASSERT_TRUE(c.expiration);
  EXPECT_EQ(util::format_iso8601(*c.expiration), expiration);

  const auto puts = server.requests("PUT", token_path);
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].header("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
  for (const auto& path : {std::string(roles_path), role_path}) {
    const auto gets = server.requests("GET", path);
    ASSERT_EQ(gets.size(), 1u) << path;
    EXPECT_EQ(gets[0].header("x-aws-ec2-metadata-token"), imds_session_token) << path;
  }
}

TEST_F(Imds, FallsBackToV1OnlyOn403404405) {
  for (int status : {403, 404, 405}) {
    test::fake_aws_server s;
    scoped_env e("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.url());
    s.on("PUT", token_path, test::scripted_response{status, ""});
    s.on("GET", roles_path, test::scripted_response{200, "dsql-app-role"});
    s.on("GET", role_path,
         test::scripted_response{
             200, test::metadata_credentials_json("ASIAV1", test::iso_in(std::chrono::hours(1)))});
    EXPECT_EQ(fetch_imds(net, nullptr).access_key_id, "ASIAV1") << status;
    for (const auto& r : s.requests("GET", roles_path)) {
      EXPECT_FALSE(r.header("x-aws-ec2-metadata-token")) << status;
    }
  }
}

TEST_F(Imds, NoV1FallbackForOtherStatuses) {
  for (int status : {400, 500}) {
    test::fake_aws_server s;
    scoped_env e("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.url());
    s.on("PUT", token_path, test::scripted_response{status, "oops"});
    const std::string msg = error_of([&] { fetch_imds(net, nullptr); });
    EXPECT_NE(msg.find("HTTP " + std::to_string(status)), std::string::npos) << msg;
    EXPECT_NE(msg.find("EC2 instance metadata (IMDS) at " + s.url()), std::string::npos) << msg;
    EXPECT_EQ(s.count("GET", roles_path), 0u);
  }
}

TEST_F(Imds, V1FallbackDisabledByVariableOrProfile) {
  server.on("PUT", token_path, test::scripted_response{403, ""});
  {
    scoped_env v1("AWS_EC2_METADATA_V1_DISABLED", std::string("TRUE"));
    const std::string msg = error_of([&] { fetch_imds(net, nullptr); });
    EXPECT_NE(msg.find("IMDSv1 fallback is disabled"), std::string::npos) << msg;
  }
  dir.write("config", "[default]\nec2_metadata_v1_disabled = true\n");
  const auto files = aws_config::load();
  const std::string msg = error_of([&] { fetch_imds(net, files.find_profile("default")); });
  EXPECT_NE(msg.find("HTTP 403"), std::string::npos) << msg;
  EXPECT_EQ(server.count("GET", roles_path), 0u);
}

TEST_F(Imds, A401RefreshesTheTokenOnce) {
  server.on("PUT", token_path, test::scripted_response{200, imds_session_token});
  server.on("GET", roles_path, test::scripted_response{401, ""});
  server.on("GET", roles_path, test::scripted_response{200, "dsql-app-role"});
  server.on("GET", role_path,
            test::scripted_response{200, test::metadata_credentials_json(
                                             "ASIAIMDS", test::iso_in(std::chrono::hours(1)))});
  EXPECT_EQ(fetch_imds(net, nullptr).access_key_id, "ASIAIMDS");
  EXPECT_EQ(server.count("PUT", token_path), 2u);

  test::fake_aws_server s;  // 401 forever: a clear error, not a loop
  scoped_env e("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.url());
  s.on("PUT", token_path, test::scripted_response{200, imds_session_token});
  s.on("GET", roles_path, test::scripted_response{401, ""});
  const std::string msg = error_of([&] { fetch_imds(net, nullptr); });
  EXPECT_NE(msg.find("HTTP 401"), std::string::npos) << msg;
  EXPECT_EQ(s.count("PUT", token_path), 2u);
}

TEST_F(Imds, NoRoleAttachedIsUnavailableNotBroken) {
  server.on("PUT", token_path, test::scripted_response{200, imds_session_token});
  server.on("GET", roles_path, test::scripted_response{404, ""});
  EXPECT_THROW(fetch_imds(net, nullptr), source_unavailable);
  std::string note;
  EXPECT_FALSE(try_imds(net, nullptr, note));
  EXPECT_NE(note.find("no IAM role"), std::string::npos) << note;
}

TEST_F(Imds, ServerErrorOnCredentialsIsAnError) {
  serve_v2();
  server.on("GET", role_path, test::responder([](const test::recorded_request&) {
              return test::scripted_response{500, "internal"};
            }));
  std::string note;
  const std::string msg = error_of([&] { try_imds(net, nullptr, note); });
  EXPECT_NE(msg.find("HTTP 500"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dsql-app-role"), std::string::npos) << msg;
}

TEST_F(Imds, MalformedCredentialsAreErrorsThatNeverEchoTheBody) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json {", "not a JSON object"},
      {"{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + test::cloud_secret() +
           "\",\"SessionToken\":\"" + test::cloud_token() +
           "\",\"Expiration\":\"2030-01-01T00:00:00Z\"}",
       "without a string Token"},
      {"{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"" + test::cloud_secret() + "\"}",
       "AssumeRoleUnauthorizedAccess"},
      {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + test::cloud_secret() + "\",\"Token\":\"" +
           test::cloud_token() + "\",\"Expiration\":\"tomorrow\"}",
       "not an ISO 8601 time"},
  };
  for (const auto& [body, expected] : cases) {
    test::fake_aws_server s;
    scoped_env e("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.url());
    s.on("PUT", token_path, test::scripted_response{200, imds_session_token});
    s.on("GET", roles_path, test::scripted_response{200, "dsql-app-role"});
    s.on("GET", role_path, test::scripted_response{200, body});
    const std::string msg = error_of([&] { fetch_imds(net, nullptr); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
}

TEST_F(Imds, InvalidRoleNameIsRefused) {
  server.on("PUT", token_path, test::scripted_response{200, imds_session_token});
  server.on("GET", roles_path, test::scripted_response{200, "../../evil?x=1"});
  const std::string msg = error_of([&] { fetch_imds(net, nullptr); });
  EXPECT_NE(msg.find("not a valid IAM role name"), std::string::npos) << msg;
}

TEST_F(Imds, ServiceDownIsUnavailableAndFast) {
  test::refused_port down;
  scoped_env e("AWS_EC2_METADATA_SERVICE_ENDPOINT", down.url());
  const auto start = std::chrono::steady_clock::now();
  std::string note;
  EXPECT_FALSE(try_imds(net, nullptr, note));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_NE(note.find("not reachable"), std::string::npos) << note;
  EXPECT_NE(note.find("AWS_EC2_METADATA_DISABLED=true"), std::string::npos) << note;
}

TEST_F(Imds, SlowServiceTimesOutWithinTheBound) {
  serve_v2();
  server.on("PUT", token_path, test::responder([](const test::recorded_request&) {
              test::scripted_response r{200, imds_session_token};
              r.delay = std::chrono::seconds(5);
              return r;
            }));
  const auto start = std::chrono::steady_clock::now();
  std::string note;
  EXPECT_FALSE(try_imds(net, nullptr, note));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_NE(note.find("did not answer"), std::string::npos) << note;
  EXPECT_NE(note.find("hop-limit"), std::string::npos) << note;
}

TEST_F(Imds, DisabledMeansNoRequestAtAll) {
  serve_v2();
  scoped_env off("AWS_EC2_METADATA_DISABLED", std::string("True"));
  std::string note;
  EXPECT_FALSE(try_imds(net, nullptr, note));
  EXPECT_NE(note.find("AWS_EC2_METADATA_DISABLED"), std::string::npos) << note;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Imds, EndpointFromProfileAndModeChecked) {
  serve_v2();
  scoped_env no_env("AWS_EC2_METADATA_SERVICE_ENDPOINT", std::nullopt);
  dir.write("config", "[default]\nec2_metadata_service_endpoint = " + server.url() + "/\n");
  const auto files = aws_config::load();
  EXPECT_EQ(fetch_imds(net, files.find_profile("default")).source, "imds:dsql-app-role");

  scoped_env mode("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", std::string("IPv5"));
  const std::string msg = error_of([&] { fetch_imds(net, nullptr); });
  EXPECT_NE(msg.find("must be IPv4 or IPv6"), std::string::npos) << msg;
}

TEST(ImdsSettings, TimeoutAndAttemptsFromTheEnvironment) {
  {
    scoped_env t("AWS_METADATA_SERVICE_TIMEOUT", std::string("0.25"));
    scoped_env n("AWS_METADATA_SERVICE_NUM_ATTEMPTS", std::string("3"));
    const auto s = network_settings::from_environment();
    EXPECT_EQ(s.imds_timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(s.imds_attempts, 3);
  }
  {
    scoped_env t("AWS_METADATA_SERVICE_TIMEOUT", std::nullopt);
    scoped_env n("AWS_METADATA_SERVICE_NUM_ATTEMPTS", std::nullopt);
    const auto s = network_settings::from_environment();
    EXPECT_EQ(s.imds_timeout, std::chrono::seconds(1));  // botocore's defaults
    EXPECT_EQ(s.imds_attempts, 1);
  }
  scoped_env t("AWS_METADATA_SERVICE_TIMEOUT", std::string("soon"));
  const std::string msg = credentials_error_of([] { network_settings::from_environment(); });
  EXPECT_NE(msg.find("AWS_METADATA_SERVICE_TIMEOUT"), std::string::npos) << msg;
}

}  // namespace
}  // namespace dsql
