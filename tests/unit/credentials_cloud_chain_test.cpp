#include <gtest/gtest.h>

#include <chrono>

#include "credentials_test_support.hpp"
#include "support/fake_aws_server.hpp"

namespace dsql {
namespace {

using credential_sources::make_default_chain;
using test::credentials_error_of;
using test::scoped_env;

// One fake server plays IMDS, the container agent and STS; each source is switched on with its
// variables, so the chain's order can be checked by taking them away one at a time.
class CloudChain : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};
  test::fake_aws_server server;
  credential_sources::network_settings net = test::fast_network();

  void serve_imds(const std::string& expiration) {
    server.on("PUT", "/latest/api/token", test::scripted_response{200, "imds-token"});
    server.on("GET", "/latest/meta-data/iam/security-credentials/",
              test::scripted_response{200, "instance-role"});
    server.on(
        "GET", "/latest/meta-data/iam/security-credentials/instance-role",
        test::scripted_response{200, test::metadata_credentials_json("ASIAIMDS", expiration)});
  }
  void serve_all() {
    serve_imds(test::iso_in(std::chrono::hours(6)));
    server.on(
        "GET", "/container",
        test::scripted_response{200, test::metadata_credentials_json(
                                         "ASIACONTAINER", test::iso_in(std::chrono::hours(1)))});
    server.on(
        "POST", "/",
        test::scripted_response{200, test::sts_success_xml("AssumeRoleWithWebIdentity", "ASIAWEB",
                                                           test::iso_in(std::chrono::hours(1)))});
  }
  std::string resolve_source() { return make_default_chain({}, net)->resolve().source; }
};

TEST_F(CloudChain, OrderIsEnvironmentProfileWebIdentityContainerImds) {
  serve_all();
  dir.write("credentials", "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = " +
                               test::profile_secret() + "\n");
  auto imds_on = std::make_unique<scoped_env>("AWS_EC2_METADATA_DISABLED", std::nullopt);
  scoped_env imds("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url());
  auto container = std::make_unique<scoped_env>("AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                                server.url() + "/container");
  scoped_env sts("AWS_ENDPOINT_URL_STS", server.url());
  auto web = std::make_unique<scoped_env>("AWS_WEB_IDENTITY_TOKEN_FILE",
                                          dir.write("token", test::web_identity_token()));
  scoped_env arn("AWS_ROLE_ARN", std::string("arn:aws:iam::1:role/web"));
  auto id = std::make_unique<scoped_env>("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));
  auto secret = std::make_unique<scoped_env>("AWS_SECRET_ACCESS_KEY", test::env_secret());

  EXPECT_EQ(resolve_source(), "environment");
  id.reset();
  secret.reset();
  EXPECT_EQ(resolve_source(), "profile:default");
  dir.write("credentials", "");
  EXPECT_EQ(resolve_source(), "web-identity:arn:aws:iam::1:role/web");
  web.reset();
  EXPECT_EQ(resolve_source(), "container");
  container.reset();
  EXPECT_EQ(resolve_source(), "imds:instance-role");
  // Only sources that were reached made requests: STS once, the container once.
  EXPECT_EQ(server.count("POST", "/"), 1u);
  EXPECT_EQ(server.count("GET", "/container"), 1u);
  EXPECT_EQ(server.count("PUT", "/latest/api/token"), 1u);
}

TEST_F(CloudChain, AConfiguredSourceThatFailsStopsTheChain) {
  serve_all();
  scoped_env imds_on("AWS_EC2_METADATA_DISABLED", std::nullopt);
  scoped_env imds("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url());
  scoped_env container("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/missing");
  const std::string msg = credentials_error_of([&] { resolve_source(); });
  EXPECT_NE(msg.find("container credentials"), std::string::npos) << msg;
  EXPECT_EQ(server.count("PUT", "/latest/api/token"), 0u);
}

TEST_F(CloudChain, NothingConfiguredOffEc2IsFastAndListsEverySource) {
  test::refused_port no_imds;
  scoped_env imds_on("AWS_EC2_METADATA_DISABLED", std::nullopt);
  scoped_env imds("AWS_EC2_METADATA_SERVICE_ENDPOINT", no_imds.url());
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = credentials_error_of([&] { resolve_source(); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  for (const char* step : {"environment variables", "profile 'default'", "web identity",
                           "container credentials", "EC2 instance metadata (IMDS) at"}) {
    EXPECT_NE(msg.find(step), std::string::npos) << step << " in: " << msg;
  }
  EXPECT_NE(msg.find("not reachable"), std::string::npos) << msg;
}

TEST_F(CloudChain, ImdsDisabledIsReported) {
  const std::string msg = credentials_error_of([&] { resolve_source(); });
  EXPECT_NE(msg.find("skipped: AWS_EC2_METADATA_DISABLED=true"), std::string::npos) << msg;
}

TEST_F(CloudChain, RefreshGoesBackToTheSourceThatWorked) {
  serve_all();
  scoped_env imds_on("AWS_EC2_METADATA_DISABLED", std::nullopt);
  scoped_env imds("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url());
  const auto chain = make_default_chain({}, net);
  EXPECT_EQ(chain->resolve().source, "imds:instance-role");
  {
    // Keys appearing later do not switch the identity of a running process...
    scoped_env id("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));
    scoped_env secret("AWS_SECRET_ACCESS_KEY", test::env_secret());
    EXPECT_EQ(chain->resolve().source, "imds:instance-role");
  }
  // ...but a source that is no longer configured sends the chain back to the start.
  scoped_env off("AWS_EC2_METADATA_DISABLED", std::string("true"));
  scoped_env id("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));
  scoped_env secret("AWS_SECRET_ACCESS_KEY", test::env_secret());
  EXPECT_EQ(chain->resolve().source, "environment");
}

TEST_F(CloudChain, CachedAsAWholeRefreshedAheadAndKeptWhenRefreshFails) {
  const auto t0 = std::chrono::system_clock::now();
  serve_imds(util::format_iso8601(t0 + std::chrono::hours(1)));
  scoped_env imds_on("AWS_EC2_METADATA_DISABLED", std::nullopt);
  scoped_env imds("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url());
  auto now = t0;
  const auto cached = make_caching_provider(make_default_chain({}, net), std::chrono::minutes(5),
                                            [&] { return now; });
  EXPECT_EQ(cached->resolve().access_key_id, "ASIAIMDS");
  now = t0 + std::chrono::minutes(30);
  cached->resolve();
  EXPECT_EQ(server.count("PUT", "/latest/api/token"), 1u);  // served from the cache

  // Inside the refresh window the metadata service fails: the still-valid ones are kept.
  server.on("GET", "/latest/meta-data/iam/security-credentials/instance-role",
            test::responder([](const test::recorded_request&) {
              return test::scripted_response{500, "down"};
            }));
  now = t0 + std::chrono::minutes(56);
  EXPECT_EQ(cached->resolve().access_key_id, "ASIAIMDS");
  EXPECT_EQ(server.count("PUT", "/latest/api/token"), 2u);  // a refresh was attempted

  now = t0 + std::chrono::minutes(61);  // expired, and the refresh still fails
  const std::string msg = credentials_error_of([&] { cached->resolve(); });
  EXPECT_NE(msg.find("HTTP 500"), std::string::npos) << msg;
}

TEST_F(CloudChain, DefaultChainReadsTheEnvironmentsNetworkSettings) {
  serve_all();
  scoped_env imds_on("AWS_EC2_METADATA_DISABLED", std::nullopt);
  scoped_env imds("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url());
  scoped_env timeout("AWS_METADATA_SERVICE_TIMEOUT", std::string("0.5"));
  EXPECT_EQ(default_credentials_chain()->resolve().source, "imds:instance-role");
}

TEST_F(CloudChain, ExplicitRoleProfileThroughTheDefaultChain) {
  serve_all();
  server.on("POST", "/", test::responder([](const test::recorded_request&) {
              return test::scripted_response{
                  200, test::sts_success_xml("AssumeRole", "ASIAROLE",
                                             test::iso_in(std::chrono::hours(1)))};
            }));
  scoped_env sts("AWS_ENDPOINT_URL_STS", server.url());
  dir.write("config",
            "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = base\n"
            "[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = " +
                test::base_secret() + "\n");
  chain_options o;
  o.profile = "dev";
  const auto c = make_default_chain(o, net)->resolve();
  EXPECT_EQ(c.access_key_id, "ASIAROLE");
  EXPECT_EQ(c.source, "assume-role:dev (base: profile:base)");
}

}  // namespace
}  // namespace dsql
