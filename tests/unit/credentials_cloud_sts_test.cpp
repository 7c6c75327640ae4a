#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "credentials_test_support.hpp"
#include "sigv4/request_signer.hpp"
#include "sigv4/sigv4.hpp"
#include "support/fake_aws_server.hpp"

namespace dsql {
namespace {

using credential_sources::parse_sts_response;
using credential_sources::resolve_sts_endpoint;
using credential_sources::try_profile;
using credential_sources::try_web_identity;
using test::credentials_error_of;
using test::scoped_env;

constexpr const char* web_role = "arn:aws:iam::123456789012:role/web-role";

std::map<std::string, std::string> form_fields(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    auto end = body.find('&', pos);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(pos, end - pos);
    const auto eq = pair.find('=');
    out[*sigv4::uri_decode(pair.substr(0, eq))] =
        eq == std::string::npos ? "" : *sigv4::uri_decode(pair.substr(eq + 1));
    pos = end + 1;
  }
  return out;
}

// Recomputes the SigV4 signature of a recorded STS request with the credentials the caller
// should have used, as STS would.
std::string expected_authorization(const test::recorded_request& r, const std::string& key_id,
                                   const std::string& secret, const std::string& token,
                                   const std::string& region) {
  sigv4::request_to_sign req;
  req.host = r.header("host").value_or("");
  req.headers = {{"content-type", r.header("content-type").value_or("")}};
  req.body = r.body;
  const auto when = sigv4::parse_amz_date(r.header("x-amz-date").value_or(""));
  if (!when) return "no x-amz-date";
  return sigv4::sign_request(req, {key_id, secret, token}, region, "sts", *when).headers[0].second;
}

class Sts : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};
  test::fake_aws_server server;
  scoped_env sts_endpoint{"AWS_ENDPOINT_URL_STS", server.url()};
  scoped_env region{"AWS_REGION", std::string("us-west-2")};
  credential_sources::network_settings net = test::fast_network();

  // Answers AssumeRole / AssumeRoleWithWebIdentity with an access key derived from the role.
  void serve_sts() {
    server.on("POST", "/", test::responder([](const test::recorded_request& r) {
                const auto f = form_fields(r.body);
                const std::string action = f.count("Action") ? f.at("Action") : "";
                const std::string role = f.count("RoleArn") ? f.at("RoleArn") : "";
                const std::string key = "ASIA" + role.substr(role.rfind('/') + 1);
                return test::scripted_response{
                    200,
                    test::sts_success_xml(action, key, test::iso_in(std::chrono::hours(1))),
                    {{"Content-Type", "text/xml"}}};
              }));
  }
};

// --- Web identity ---------------------------------------------------------------------------

TEST_F(Sts, WebIdentityFromEnvironmentEndToEnd) {
  serve_sts();
  scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("token", test::web_identity_token()));
  scoped_env arn("AWS_ROLE_ARN", std::string(web_role));
  scoped_env name("AWS_ROLE_SESSION_NAME", std::string("my-session"));
  const auto c = try_web_identity(net, std::nullopt);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIAweb-role");
  EXPECT_EQ(c->secret_access_key, test::cloud_secret());
  EXPECT_EQ(c->session_token, test::cloud_token());
  EXPECT_EQ(c->source, std::string("web-identity:") + web_role);
  EXPECT_TRUE(c->expiration);

  const auto reqs = server.requests("POST", "/");
  ASSERT_EQ(reqs.size(), 1u);
  const auto f = form_fields(reqs[0].body);
  EXPECT_EQ(f.at("Action"), "AssumeRoleWithWebIdentity");
  EXPECT_EQ(f.at("Version"), "2011-06-15");
  EXPECT_EQ(f.at("RoleArn"), web_role);
  EXPECT_EQ(f.at("RoleSessionName"), "my-session");
  EXPECT_EQ(f.at("WebIdentityToken"), test::web_identity_token());
  EXPECT_EQ(reqs[0].header("content-type"), "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_FALSE(reqs[0].header("authorization"));  // unsigned: the token is the proof
}

TEST_F(Sts, WebIdentityTokenFileIsReadOnEveryCallAndSessionNameGenerated) {
  serve_sts();
  const std::string file = dir.write("token", "first.jwt.token");
  scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", file);
  scoped_env arn("AWS_ROLE_ARN", std::string(web_role));
  try_web_identity(net, std::nullopt);
  dir.write("token", test::web_identity_token() + "\n");
  try_web_identity(net, std::nullopt);
  const auto reqs = server.requests("POST", "/");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(form_fields(reqs[0].body).at("WebIdentityToken"), "first.jwt.token");
  EXPECT_EQ(form_fields(reqs[1].body).at("WebIdentityToken"), test::web_identity_token());
  EXPECT_EQ(form_fields(reqs[0].body).at("RoleSessionName").rfind("dsql-cpp-", 0), 0u);
}

TEST_F(Sts, WebIdentityConfigurationErrors) {
  serve_sts();
  EXPECT_FALSE(try_web_identity(net, std::nullopt));  // not configured
  {
    scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", dir.file("missing"));
    scoped_env arn("AWS_ROLE_ARN", std::string(web_role));
    const std::string msg = credentials_error_of([&] { try_web_identity(net, std::nullopt); });
    EXPECT_NE(msg.find(dir.file("missing") + " cannot be read"), std::string::npos) << msg;
  }
  {
    scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("empty", "\n"));
    scoped_env arn("AWS_ROLE_ARN", std::string(web_role));
    const std::string msg = credentials_error_of([&] { try_web_identity(net, std::nullopt); });
    EXPECT_NE(msg.find("is empty"), std::string::npos) << msg;
  }
  scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("token", test::web_identity_token()));
  const std::string msg = credentials_error_of([&] { try_web_identity(net, std::nullopt); });
  EXPECT_NE(msg.find("AWS_ROLE_ARN"), std::string::npos) << msg;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Sts, StsErrorDocumentIsQuotedWithSecretsRedacted) {
  // An identity provider that echoes the token back must not get it into our message.
  server.on("POST", "/",
            test::scripted_response{
                400,
                test::sts_error_xml("InvalidIdentityToken",
                                    "Token " + test::web_identity_token() + " is not valid"),
                {{"Content-Type", "text/xml"}}});
  scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("token", test::web_identity_token()));
  scoped_env arn("AWS_ROLE_ARN", std::string(web_role));
  const std::string msg = credentials_error_of([&] { try_web_identity(net, std::nullopt); });
  EXPECT_NE(msg.find("HTTP 400 InvalidIdentityToken"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[redacted]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("OIDC provider"), std::string::npos) << msg;
  EXPECT_NE(msg.find("AWS_WEB_IDENTITY_TOKEN_FILE"), std::string::npos) << msg;
  EXPECT_EQ(server.count("POST", "/"), 1u);  // a 4xx is not retried
}

TEST_F(Sts, GarbageAndServerErrors) {
  scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("token", test::web_identity_token()));
  scoped_env arn("AWS_ROLE_ARN", std::string(web_role));
  const std::vector<std::pair<test::scripted_response, std::string>> cases = {
      {{200, "<html><body>proxy login"}, "not XML"},
      {{200, "<Something><Else/></Something>"}, "not an AssumeRoleWithWebIdentity response"},
      {{200, test::sts_success_xml("AssumeRoleWithWebIdentity", "ASIA", "never")},
       "no valid Expiration"},
      {{503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>"},
       "HTTP 503 ServiceUnavailable"},
      {{500, ""}, "not XML"},
  };
  for (const auto& [answer, expected] : cases) {
    test::fake_aws_server s;
    s.on("POST", "/", answer);
    scoped_env ep("AWS_ENDPOINT_URL_STS", s.url());
    const std::string msg = credentials_error_of([&] { try_web_identity(net, std::nullopt); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    EXPECT_NE(msg.find("web identity"), std::string::npos) << msg;
    EXPECT_EQ(s.count("POST", "/"), answer.status >= 500 ? 2u : 1u) << msg;
  }
}

TEST_F(Sts, DownOrSlowStsFailsWithinTheBound) {
  scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("token", test::web_identity_token()));
  scoped_env arn("AWS_ROLE_ARN", std::string(web_role));
  {
    test::refused_port down;
    scoped_env ep("AWS_ENDPOINT_URL_STS", down.url());
    const std::string msg = credentials_error_of([&] { try_web_identity(net, std::nullopt); });
    EXPECT_NE(msg.find("could not connect"), std::string::npos) << msg;
  }
  server.on("POST", "/", test::responder([](const test::recorded_request&) {
              test::scripted_response r{200, ""};
              r.delay = std::chrono::seconds(5);
              return r;
            }));
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = credentials_error_of([&] { try_web_identity(net, std::nullopt); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_NE(msg.find("no complete answer"), std::string::npos) << msg;
}

TEST_F(Sts, WebIdentityFromAProfile) {
  serve_sts();
  dir.write("config",
            "[profile irsa]\nrole_arn = " + std::string(web_role) +
                "\nweb_identity_token_file = " + dir.write("token", test::web_identity_token()) +
                "\nrole_session_name = from-profile\n");
  const auto c = try_profile(aws_config::load(), "irsa", true);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->source, "web-identity:irsa");
  EXPECT_EQ(form_fields(server.requests()[0].body).at("RoleSessionName"), "from-profile");

  dir.write("config", "[profile half]\nweb_identity_token_file = /tmp/x\n");
  const std::string msg =
      credentials_error_of([] { try_profile(aws_config::load(), "half", true); });
  EXPECT_NE(msg.find("no role_arn"), std::string::npos) << msg;
}

// --- Assume role ----------------------------------------------------------------------------

TEST_F(Sts, SourceProfileWithStaticKeysSignsAssumeRole) {
  serve_sts();
  dir.write("config",
            "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev-role\n"
            "source_profile = base\nrole_session_name = sess\nduration_seconds = 1800\n"
            "external_id = ext-123\n");
  dir.write("credentials", "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = " +
                               test::base_secret() + "\n");
  const auto c = try_profile(aws_config::load(), "dev", true);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIAdev-role");
  EXPECT_EQ(c->source, "assume-role:dev (base: profile:base)");

  const auto reqs = server.requests("POST", "/");
  ASSERT_EQ(reqs.size(), 1u);
  const auto f = form_fields(reqs[0].body);
  EXPECT_EQ(f.at("Action"), "AssumeRole");
  EXPECT_EQ(f.at("Version"), "2011-06-15");
  EXPECT_EQ(f.at("RoleArn"), "arn:aws:iam::123456789012:role/dev-role");
  EXPECT_EQ(f.at("RoleSessionName"), "sess");
  EXPECT_EQ(f.at("DurationSeconds"), "1800");
  EXPECT_EQ(f.at("ExternalId"), "ext-123");
  const std::string auth = reqs[0].header("authorization").value_or("");
  EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDBASE/", 0), 0u) << auth;
  EXPECT_NE(auth.find("/us-west-2/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, "),
            std::string::npos)
      << auth;
  EXPECT_EQ(auth,
            expected_authorization(reqs[0], "AKIDBASE", test::base_secret(), "", "us-west-2"));
  EXPECT_FALSE(reqs[0].header("x-amz-security-token"));
}

TEST_F(Sts, RoleChainsUseEachHopsCredentials) {
  serve_sts();
  dir.write("config",
            "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/role-a\nsource_profile = b\n"
            "[profile b]\nrole_arn = arn:aws:iam::222222222222:role/role-b\nsource_profile = c\n"
            "[profile c]\naws_access_key_id = AKIDC\naws_secret_access_key = " +
                test::base_secret() + "\n");
  const auto c = try_profile(aws_config::load(), "a", true);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIArole-a");
  const auto reqs = server.requests("POST", "/");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(form_fields(reqs[0].body).at("RoleArn"), "arn:aws:iam::222222222222:role/role-b");
  EXPECT_EQ(form_fields(reqs[1].body).at("RoleArn"), "arn:aws:iam::111111111111:role/role-a");
  // The second hop is signed with what the first returned, session token included.
  EXPECT_EQ(reqs[1].header("x-amz-security-token"), test::cloud_token());
  EXPECT_EQ(reqs[1].header("authorization"),
            expected_authorization(reqs[1], "ASIArole-b", test::cloud_secret(), test::cloud_token(),
                                   "us-west-2"));
}

TEST_F(Sts, SourceProfileWithStaticKeysAndItsOwnRoleUsesItsKeys) {
  // botocore: static keys in the source profile end the chain; its role_arn is not assumed.
  serve_sts();
  dir.write("config",
            "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/role-a\nsource_profile = b\n"
            "[profile b]\nrole_arn = arn:aws:iam::222222222222:role/role-b\nsource_profile = c\n"
            "aws_access_key_id = AKIDB\naws_secret_access_key = " +
                test::base_secret() + "\n[profile c]\ncredential_process = /bin/false\n");
  EXPECT_EQ(try_profile(aws_config::load(), "a", true)->access_key_id, "ASIArole-a");
  const auto reqs = server.requests("POST", "/");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("authorization")->rfind("AWS4-HMAC-SHA256 Credential=AKIDB/", 0), 0u);
}

TEST_F(Sts, SelfReferenceWithStaticKeysIsAllowed) {
  serve_sts();
  dir.write("config",
            "[profile self]\nrole_arn = arn:aws:iam::1:role/self-role\n"
            "source_profile = self\naws_access_key_id = AKIDSELF\n"
            "aws_secret_access_key = " +
                test::base_secret() + "\n");
  EXPECT_EQ(try_profile(aws_config::load(), "self", true)->access_key_id, "ASIAself-role");
  EXPECT_EQ(server.count("POST", "/"), 1u);
}

TEST_F(Sts, CyclesAreDetectedBeforeAnyCall) {
  serve_sts();
  dir.write("config",
            "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
            "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = c\n"
            "[profile c]\nrole_arn = arn:aws:iam::1:role/c\nsource_profile = a\n"
            "[profile loop]\nrole_arn = arn:aws:iam::1:role/l\nsource_profile = loop\n");
  std::string msg = credentials_error_of([] { try_profile(aws_config::load(), "a", true); });
  EXPECT_NE(msg.find("cycle: a -> b -> c -> a"), std::string::npos) << msg;
  msg = credentials_error_of([] { try_profile(aws_config::load(), "loop", true); });
  EXPECT_NE(msg.find("cycle: loop -> loop"), std::string::npos) << msg;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Sts, CredentialSourceEnvironmentImdsAndContainer) {
  serve_sts();
  dir.write("config",
            "[profile env]\nrole_arn = arn:aws:iam::1:role/env-role\n"
            "credential_source = Environment\n"
            "[profile ec2]\nrole_arn = arn:aws:iam::1:role/ec2-role\n"
            "credential_source = Ec2InstanceMetadata\nec2_metadata_service_endpoint = " +
                server.url() +
                "\n[profile ecs]\nrole_arn = arn:aws:iam::1:role/ecs-role\n"
                "credential_source = EcsContainer\n");
  const auto files = aws_config::load();
  {
    const std::string msg = credentials_error_of([&] { try_profile(files, "env", true); });
    EXPECT_NE(msg.find("credential_source = Environment"), std::string::npos) << msg;
    scoped_env id("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));
    scoped_env secret("AWS_SECRET_ACCESS_KEY", test::env_secret());
    const auto c = try_profile(files, "env", true);
    EXPECT_EQ(c->source, "assume-role:env (base: environment)");
  }
  // IMDS and container answers come from the same fake server.
  server.on("PUT", "/latest/api/token", test::scripted_response{200, "imds-token"});
  server.on("GET", "/latest/meta-data/iam/security-credentials/",
            test::scripted_response{200, "instance-role"});
  server.on("GET", "/latest/meta-data/iam/security-credentials/instance-role",
            test::scripted_response{200, test::metadata_credentials_json(
                                             "ASIAINSTANCE", test::iso_in(std::chrono::hours(1)))});
  EXPECT_EQ(try_profile(files, "ec2", true)->source, "assume-role:ec2 (base: imds:instance-role)");
  server.on("GET", "/task-creds",
            test::scripted_response{200, test::metadata_credentials_json(
                                             "ASIATASK", test::iso_in(std::chrono::hours(1)))});
  {
    const std::string msg = credentials_error_of([&] { try_profile(files, "ecs", true); });
    EXPECT_NE(msg.find("credential_source = EcsContainer"), std::string::npos) << msg;
    scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/task-creds");
    EXPECT_EQ(try_profile(files, "ecs", true)->source, "assume-role:ecs (base: container)");
  }
  const auto reqs = server.requests("POST", "/");
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_NE(reqs[1].header("authorization")->find("Credential=ASIAINSTANCE/"), std::string::npos);
  EXPECT_NE(reqs[2].header("authorization")->find("Credential=ASIATASK/"), std::string::npos);
}

TEST_F(Sts, RoleProfileConfigurationErrors) {
  serve_sts();
  dir.write("config",
            "[profile both]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = x\n"
            "credential_source = Environment\n"
            "[profile neither]\nrole_arn = arn:aws:iam::1:role/r\n"
            "[profile badsource]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Laptop\n"
            "[profile mfa]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = keys\n"
            "mfa_serial = arn:aws:iam::1:mfa/me\n"
            "[profile ghost]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = nobody\n"
            "[profile empty]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = regiononly\n"
            "[profile regiononly]\nregion = us-east-1\n"
            "[profile keys]\naws_access_key_id = AKID\naws_secret_access_key = " +
                test::base_secret() + "\n");
  const auto files = aws_config::load();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"both", "both source_profile and credential_source"},
      {"neither", "no source_profile, credential_source or web_identity_token_file"},
      {"badsource", "use Environment, Ec2InstanceMetadata or EcsContainer"},
      {"mfa", "mfa_serial"},
      {"ghost", "profile 'nobody' was not found"},
      {"empty", "profile 'regiononly' has no credentials"},
  };
  for (const auto& [profile, expected] : cases) {
    const std::string msg = credentials_error_of([&] { try_profile(files, profile, true); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    EXPECT_NE(msg.find("'" + profile + "'"), std::string::npos) << msg;
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Sts, AccessDeniedNamesTheProfileRoleAndFix) {
  server.on("POST", "/",
            test::scripted_response{403,
                                    test::sts_error_xml("AccessDenied",
                                                        "User: arn:aws:iam::1:user/me is not "
                                                        "authorized to perform: sts:AssumeRole"),
                                    {}});
  dir.write("config",
            "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = keys\n"
            "[profile keys]\naws_access_key_id = AKID\naws_secret_access_key = " +
                test::base_secret() + "\n");
  const std::string msg =
      credentials_error_of([] { try_profile(aws_config::load(), "dev", true); });
  EXPECT_NE(msg.find("AWS profile 'dev' (assume role arn:aws:iam::1:role/dev)"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("HTTP 403 AccessDenied: User: arn:aws:iam::1:user/me is not authorized"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("trust policy"), std::string::npos) << msg;
}

// --- Endpoint and parser --------------------------------------------------------------------

TEST(StsEndpoint, RegionalByDefaultGlobalWithoutRegionAndOverrides) {
  test::temp_dir dir;
  test::isolated_aws_env env{dir};
  auto ep = resolve_sts_endpoint(std::nullopt);
  EXPECT_EQ(ep.url, "https://sts.amazonaws.com");
  EXPECT_EQ(ep.region, "us-east-1");
  ep = resolve_sts_endpoint(std::string("eu-west-1"));
  EXPECT_EQ(ep.url, "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(ep.region, "eu-west-1");
  {
    scoped_env r("AWS_DEFAULT_REGION", std::string("ap-south-1"));
    EXPECT_EQ(resolve_sts_endpoint(std::string("eu-west-1")).url,
              "https://sts.ap-south-1.amazonaws.com");
    scoped_env r2("AWS_REGION", std::string("cn-north-1"));
    EXPECT_EQ(resolve_sts_endpoint(std::nullopt).url, "https://sts.cn-north-1.amazonaws.com.cn");
  }
  {
    scoped_env any("AWS_ENDPOINT_URL", std::string("http://127.0.0.1:1/any"));
    EXPECT_EQ(resolve_sts_endpoint(std::nullopt).url, "http://127.0.0.1:1/any");
    scoped_env sts("AWS_ENDPOINT_URL_STS", std::string("http://127.0.0.1:1/sts"));
    EXPECT_EQ(resolve_sts_endpoint(std::nullopt).url, "http://127.0.0.1:1/sts");
    scoped_env ignore("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", std::string("true"));
    EXPECT_EQ(resolve_sts_endpoint(std::nullopt).url, "https://sts.amazonaws.com");
  }
  scoped_env bad("AWS_REGION", std::string("us-east-1.evil.example/"));
  const std::string msg = credentials_error_of([] { resolve_sts_endpoint(std::nullopt); });
  EXPECT_NE(msg.find("not a valid AWS region"), std::string::npos) << msg;
}

TEST(StsParse, AcceptsNamespacePrefixesAndWhitespace) {
  const std::string xml =
      "<?xml version=\"1.0\"?><sts:AssumeRoleResponse xmlns:sts=\"https://sts.amazonaws.com/doc/"
      "2011-06-15/\"><sts:AssumeRoleResult><sts:Credentials>\n"
      "<sts:AccessKeyId> ASIAX </sts:AccessKeyId><sts:SecretAccessKey>s3cr3t-value"
      "</sts:SecretAccessKey><sts:SessionToken>tok</sts:SessionToken>"
      "<sts:Expiration>2030-01-01T00:00:00Z</sts:Expiration></sts:Credentials>"
      "</sts:AssumeRoleResult></sts:AssumeRoleResponse>";
  const auto c = parse_sts_response(xml, 200, "AssumeRole", "test");
  EXPECT_EQ(c.access_key_id, "ASIAX");
  EXPECT_EQ(util::format_iso8601(*c.expiration), "2030-01-01T00:00:00Z");
}

}  // namespace
}  // namespace dsql
