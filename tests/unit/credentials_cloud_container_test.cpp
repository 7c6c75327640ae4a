#include <gtest/gtest.h>

#include <chrono>

#include "credentials_test_support.hpp"
#include "support/fake_aws_server.hpp"

namespace dsql {
namespace {

using credential_sources::check_container_uri;
using credential_sources::fetch_container;
using credential_sources::try_container;
using test::credentials_error_of;
using test::scoped_env;

class Container : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};
  test::fake_aws_server server;
  credential_sources::network_settings net = [this] {
    auto n = test::fast_network();
    n.container_relative_base = server.url();  // stands in for http://169.254.170.2
    return n;
  }();

  void serve(const std::string& path) {
    server.on(
        "GET", path,
        test::scripted_response{200, test::metadata_credentials_json(
                                         "ASIACONTAINER", test::iso_in(std::chrono::hours(1)))});
  }
};

TEST_F(Container, NotConfiguredGivesNullopt) {
  EXPECT_FALSE(try_container(net));
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Container, RelativeUriGoesToTheEcsAgentWithoutTheToken) {
  serve("/v2/credentials/task-1");
  scoped_env rel("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", std::string("/v2/credentials/task-1"));
  scoped_env tok("AWS_CONTAINER_AUTHORIZATION_TOKEN", test::container_auth_token());
  const auto c = try_container(net);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIACONTAINER");
  EXPECT_EQ(c->session_token, test::cloud_token());
  EXPECT_EQ(c->source, "container");
  EXPECT_TRUE(c->expiration);
  const auto reqs = server.requests("GET", "/v2/credentials/task-1");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("accept"), "application/json");
  EXPECT_FALSE(reqs[0].header("authorization"));  // as botocore: the token is for FULL_URI
}

TEST_F(Container, RelativeUriWinsOverFullUri) {
  serve("/rel");
  scoped_env rel("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", std::string("/rel"));
  scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/full");
  EXPECT_EQ(fetch_container(net).access_key_id, "ASIACONTAINER");
  EXPECT_EQ(server.count("GET", "/full"), 0u);
}

TEST_F(Container, TokenFileIsReadAgainOnEveryFetch) {
  serve("/get-credentials");
  scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/get-credentials");
  const std::string file = dir.write("eks-pod-identity-token", "first-token");
  scoped_env tf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file);
  scoped_env tv("AWS_CONTAINER_AUTHORIZATION_TOKEN", std::string("ignored-when-a-file-is-set"));
  fetch_container(net);
  dir.write("eks-pod-identity-token", test::container_auth_token());  // the kubelet rotated it
  fetch_container(net);
  const auto reqs = server.requests("GET", "/get-credentials");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].header("authorization"), "first-token");
  EXPECT_EQ(reqs[1].header("authorization"), test::container_auth_token());
}

TEST_F(Container, TokenFromVariable) {
  serve("/creds");
  scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/creds");
  scoped_env tv("AWS_CONTAINER_AUTHORIZATION_TOKEN", test::container_auth_token());
  fetch_container(net);
  EXPECT_EQ(server.requests()[0].header("authorization"), test::container_auth_token());
}

TEST_F(Container, LineBreaksInTheTokenAreRefusedBeforeAnyRequest) {
  serve("/creds");
  scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/creds");
  {
    scoped_env tv("AWS_CONTAINER_AUTHORIZATION_TOKEN",
                  test::container_auth_token() + "\r\nX-Injected: 1");
    const std::string msg = credentials_error_of([&] { fetch_container(net); });
    EXPECT_NE(msg.find("line break"), std::string::npos) << msg;
    EXPECT_NE(msg.find("AWS_CONTAINER_AUTHORIZATION_TOKEN"), std::string::npos) << msg;
  }
  scoped_env tf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                dir.write("tok", test::container_auth_token() + "\n"));
  const std::string msg = credentials_error_of([&] { fetch_container(net); });
  EXPECT_NE(msg.find("line break"), std::string::npos) << msg;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Container, MissingOrEmptyTokenFile) {
  serve("/creds");
  scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/creds");
  {
    scoped_env tf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", dir.file("absent"));
    const std::string msg = credentials_error_of([&] { fetch_container(net); });
    EXPECT_NE(msg.find(dir.file("absent") + ", which cannot be read"), std::string::npos) << msg;
  }
  scoped_env tf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", dir.write("empty", ""));
  const std::string msg = credentials_error_of([&] { fetch_container(net); });
  EXPECT_NE(msg.find("is empty"), std::string::npos) << msg;
}

TEST(ContainerUri, AllowedHostsFollowAwsRules) {
  for (const char* ok :
       {"http://127.0.0.1:8080/creds", "http://127.1.2.3/creds", "http://[::1]:80/creds",
        "http://localhost/creds", "http://169.254.170.2/v2/credentials",
        "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials",
        "https://credentials.example.com/creds", "https://10.0.0.1/creds"}) {
    EXPECT_NO_THROW(check_container_uri(ok)) << ok;
  }
  for (const char* bad :
       {"http://169.254.169.254/latest/meta-data", "http://10.0.0.1/creds",
        "http://[fd00:ec2::24]/creds", "http://192.168.1.10:9000/", "ftp://127.0.0.1/creds"}) {
    const std::string msg = credentials_error_of([&] { check_container_uri(bad); });
    EXPECT_NE(msg.find("AWS_CONTAINER_CREDENTIALS_FULL_URI"), std::string::npos) << msg;
  }
  const std::string msg =
      credentials_error_of([] { check_container_uri("http://169.254.169.254/x"); });
  EXPECT_NE(msg.find("use https"), std::string::npos) << msg;
}

TEST_F(Container, DisallowedFullUriMakesNoRequest) {
  scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI",
                  std::string("http://169.254.169.254/latest/meta-data/"));
  scoped_env tv("AWS_CONTAINER_AUTHORIZATION_TOKEN", test::container_auth_token());
  const std::string msg = credentials_error_of([&] { try_container(net); });
  EXPECT_NE(msg.find("'169.254.169.254'"), std::string::npos) << msg;
}

TEST_F(Container, ErrorAnswersNameTheSourceAndTheFix) {
  struct answer_case {
    int status;
    std::string body;
    std::string expected;
  };
  const std::vector<answer_case> cases = {
      {401, R"({"code":"AccessDeniedException","message":"token rejected"})",
       "AccessDeniedException: token rejected"},
      {403, "", "authorization token was refused"},
      {404, "", "no credentials at this URI"},
      {500, "boom", "retry later"},
      {200, "<html>captive portal</html>", "not a JSON object"},
  };
  scoped_env tv("AWS_CONTAINER_AUTHORIZATION_TOKEN", test::container_auth_token());
  for (const auto& c : cases) {
    test::fake_aws_server s;
    s.on("GET", "/creds", test::scripted_response{c.status, c.body});
    scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", s.url() + "/creds");
    const std::string msg = credentials_error_of([&] { fetch_container(net); });
    EXPECT_NE(msg.find(c.expected), std::string::npos) << msg;
    EXPECT_NE(msg.find("container credentials from " + s.url()), std::string::npos) << msg;
    EXPECT_NE(msg.find("AWS_CONTAINER_CREDENTIALS_FULL_URI"), std::string::npos) << msg;
    // Only server errors are retried.
    EXPECT_EQ(s.count("GET", "/creds"), c.status == 500 ? 2u : 1u) << c.status;
  }
}

TEST_F(Container, ServerErrorThenSuccessIsRetried) {
  server.on("GET", "/creds", test::scripted_response{503, ""});
  serve("/creds");
  scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/creds");
  EXPECT_EQ(fetch_container(net).access_key_id, "ASIACONTAINER");
  EXPECT_EQ(server.count("GET", "/creds"), 2u);
}

TEST_F(Container, AgentDownOrSlowFailsWithinTheBound) {
  {
    test::refused_port down;
    scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", down.url() + "/creds");
    const std::string msg = credentials_error_of([&] { fetch_container(net); });
    EXPECT_NE(msg.find("not answering"), std::string::npos) << msg;
  }
  server.on("GET", "/slow", test::responder([](const test::recorded_request&) {
              test::scripted_response r{200, "{}"};
              r.delay = std::chrono::seconds(5);
              return r;
            }));
  scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/slow");
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = credentials_error_of([&] { fetch_container(net); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_NE(msg.find("no complete answer"), std::string::npos) << msg;
}

}  // namespace
}  // namespace dsql
