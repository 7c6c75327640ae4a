// `aws login` (login_session) profiles end to end against tests/support/fake_signin_service:
// the CLI's cache read as it is, refreshed near expiry through CreateOAuth2Token with a DPoP
// proof the fake verifies, written back atomically and 0600, and every failure naming the
// profile and `aws login` without a secret in it.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "credentials/dpop.hpp"
#include "credentials_test_support.hpp"
#include "support/fake_aws_server.hpp"
#include "support/fake_signin_service.hpp"

namespace dsql {
namespace {

using credential_sources::login_cache_file_name;
using credential_sources::try_profile;
using nlohmann::json;
using test::credentials_error_of;
using test::scoped_env;

constexpr const char* session = "arn:aws:iam::0123456789012:user/username";
constexpr const char* client_id = "arn:aws:signin:::devtools/same-device";

class Login : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};  // HOME is dir: the cache is dir/.aws/login/cache
  test::fake_aws_server server;
  scoped_env endpoint{"AWS_ENDPOINT_URL_SIGNIN", server.url()};
  const test::dpop_test_key key = test::dpop_test_key::generate();
  // After the server: destroyed first, while the server still holds its route.
  std::unique_ptr<test::fake_signin_service> signin;
  const credential_sources::network_settings net = test::fast_network();

  Login() {
    dir.write("config", std::string("[profile dev]\nlogin_session = ") + session +
                            "\nregion = us-west-2\n[default]\nlogin_session = " + session +
                            "\nregion = us-west-2\n");
    test::fake_signin_service::settings s;
    s.client_id = client_id;
    s.refresh_token = test::login_refresh_token();
    s.jwk_x = key.x;
    s.jwk_y = key.y;
    s.secret_access_key = test::refreshed_secret();
    s.session_token = test::refreshed_token();
    s.next_refresh_token = test::login_rotated_refresh_token();
    signin = std::make_unique<test::fake_signin_service>(server, s);
  }

  std::string cache_path() const {
    return dir.file(".aws/login/cache/" + login_cache_file_name(session));
  }

  // The cache file as `aws login` writes it (the Rust SDK's documented example, our secrets).
  json cli_cache(const std::string& expires_at) const {
    return {{"accessToken",
             {{"accessKeyId", "ASIALOGINCACHED00001"},
              {"secretAccessKey", test::login_secret()},
              {"sessionToken", test::login_token()},
              {"accountId", "012345678901"},
              {"expiresAt", expires_at}}},
            {"tokenType", "aws_sigv4"},
            {"refreshToken", test::login_refresh_token()},
            {"idToken", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.sig"},
            {"clientId", client_id},
            {"dpopKey", key.pem},
            {"cliVersion", "2.32.0"}};
  }
  void write_cache(const json& doc) const {
    std::filesystem::create_directories(dir.file(".aws/login/cache"));
    dir.write(".aws/login/cache/" + login_cache_file_name(session), doc.dump(2));
  }
  void cache_expiring_in(std::chrono::seconds s) const { write_cache(cli_cache(test::iso_in(s))); }
  json cached() const { return json::parse(test::read_file(cache_path())); }

  std::optional<credentials> resolve(const std::string& profile = "dev") const {
    return try_profile(aws_config::load(), profile, true,
                       credential_sources::default_process_timeout, net);
  }
  std::string error_of(const std::string& profile = "dev") const {
    return credentials_error_of([&] { resolve(profile); });
  }
};

TEST(LoginCache, FileNameIsTheSha256HexOfTheLoginSession) {
  EXPECT_EQ(login_cache_file_name(session),
            "a9aa6015b267d43765ace474701cabd31e4e9b20b4a9a72ffc52f3c0b9ae6543.json");
}

TEST(LoginCache, DirectoryIsAwsLoginCacheDirectoryElseHome) {
  scoped_env home("HOME", "/home/someone");
  scoped_env none("AWS_LOGIN_CACHE_DIRECTORY", std::nullopt);
  EXPECT_EQ(credential_sources::login_cache_directory(), "/home/someone/.aws/login/cache");
  scoped_env set("AWS_LOGIN_CACHE_DIRECTORY", "/var/cache/login");
  EXPECT_EQ(credential_sources::login_cache_directory(), "/var/cache/login");
  scoped_env tilde("AWS_LOGIN_CACHE_DIRECTORY", "~/elsewhere");
  EXPECT_EQ(credential_sources::login_cache_directory(), "/home/someone/elsewhere");
}

TEST_F(Login, FreshCachedCredentialsAreUsedAsTheCliLeftThem) {
  const std::string expires = test::iso_in(std::chrono::minutes(10));
  write_cache(cli_cache(expires));
  const auto c = resolve();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIALOGINCACHED00001");
  EXPECT_EQ(c->secret_access_key, test::login_secret());
  EXPECT_EQ(c->session_token, test::login_token());
  EXPECT_EQ(c->source, "login:dev");
  ASSERT_TRUE(c->expiration);
  EXPECT_EQ(util::format_iso8601(*c->expiration), expires);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Login, CredentialsNearExpiryAreRefreshedAndWrittenBack) {
  cache_expiring_in(std::chrono::minutes(2));
  ::chmod(cache_path().c_str(), 0644);
  const auto c = resolve();
  ASSERT_TRUE(c);
  EXPECT_EQ(signin->problems(), std::vector<std::string>{});
  EXPECT_EQ(signin->refreshes(), 1);
  EXPECT_EQ(c->access_key_id, "ASIALOGINREFRESHED01");
  EXPECT_EQ(c->secret_access_key, test::refreshed_secret());
  EXPECT_EQ(c->session_token, test::refreshed_token());
  ASSERT_TRUE(c->expiration);
  EXPECT_GT(*c->expiration, std::chrono::system_clock::now() + std::chrono::minutes(5));

  const auto reqs = server.requests("POST", "/v1/token");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("content-type"), "application/json");
  EXPECT_FALSE(reqs[0].header("authorization")) << "CreateOAuth2Token is unsigned";
  EXPECT_EQ(json::parse(reqs[0].body), (json{{"clientId", client_id},
                                             {"refreshToken", test::login_refresh_token()},
                                             {"grantType", "refresh_token"}}));

  // The cache now holds the new session; everything the CLI wrote besides stays.
  const json doc = cached();
  EXPECT_EQ(doc["accessToken"]["accessKeyId"], "ASIALOGINREFRESHED01");
  EXPECT_EQ(doc["accessToken"]["secretAccessKey"], test::refreshed_secret());
  EXPECT_EQ(doc["accessToken"]["sessionToken"], test::refreshed_token());
  EXPECT_EQ(doc["accessToken"]["accountId"], "012345678901");
  EXPECT_EQ(doc["accessToken"]["expiresAt"], util::format_iso8601(*c->expiration));
  EXPECT_EQ(doc["refreshToken"], test::login_rotated_refresh_token());
  const json before = cli_cache("unused");
  for (const char* kept : {"tokenType", "idToken", "clientId", "dpopKey", "cliVersion"}) {
    EXPECT_EQ(doc[kept], before[kept]) << kept;
  }
  struct stat st {};
  ASSERT_EQ(::stat(cache_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file(".aws/login/cache"))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u) << "a temporary file was left behind";

  // The refreshed session is good for another 15 minutes: no second call.
  EXPECT_EQ(resolve()->access_key_id, "ASIALOGINREFRESHED01");
  EXPECT_EQ(signin->refreshes(), 1);
}

TEST_F(Login, ExpiredCredentialsAreRefreshedWithTheRotatedTokenNextTime) {
  cache_expiring_in(-std::chrono::hours(1));
  EXPECT_EQ(resolve()->access_key_id, "ASIALOGINREFRESHED01");
  // Near expiry again: the rotated refresh token and a new proof (a new jti) are accepted.
  json doc = cached();
  doc["accessToken"]["expiresAt"] = test::iso_in(std::chrono::minutes(1));
  write_cache(doc);
  EXPECT_EQ(resolve()->access_key_id, "ASIALOGINREFRESHED01");
  EXPECT_EQ(signin->refreshes(), 2);
  EXPECT_EQ(signin->problems(), std::vector<std::string>{});
}

TEST_F(Login, DeniedRefreshesSayWhatToRun) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"TOKEN_EXPIRED", "the login session has expired; run `aws login --profile dev`"},
      {"USER_CREDENTIALS_CHANGED", "the password changed since the session began; run `aws login"},
      {"INSUFFICIENT_PERMISSIONS", "signin:CreateOAuth2Token"},
  };
  for (const auto& [code, expected] : cases) {
    SCOPED_TRACE(code);
    cache_expiring_in(-std::chrono::minutes(1));
    signin->deny(code);
    const std::string msg = error_of();
    EXPECT_NE(msg.find("AWS profile 'dev' (login_session): AWS Sign-In CreateOAuth2Token at "),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    EXPECT_NE(msg.find(code), std::string::npos) << msg;
    EXPECT_EQ(cached()["refreshToken"], test::login_refresh_token()) << "cache changed";
  }
  EXPECT_EQ(signin->problems(), std::vector<std::string>{});
}

TEST_F(Login, ARefreshTokenTheServiceNoLongerKnowsNeedsALogin) {
  json doc = cli_cache(test::iso_in(-std::chrono::minutes(1)));
  doc["refreshToken"] = test::login_rotated_refresh_token();  // not the one the fake holds
  write_cache(doc);
  const std::string msg = error_of("default");
  EXPECT_NE(msg.find("HTTP 401"), std::string::npos) << msg;
  EXPECT_NE(msg.find("run `aws login`"), std::string::npos) << msg;  // the default profile
}

TEST_F(Login, AFailedRefreshKeepsCredentialsThatStillWork) {
  cache_expiring_in(std::chrono::minutes(2));
  signin->deny("TOKEN_EXPIRED");
  EXPECT_EQ(resolve()->access_key_id, "ASIALOGINCACHED00001");
  EXPECT_EQ(server.count("POST", "/v1/token"), 1u);
}

TEST_F(Login, CacheProblemsSayWhatToRun) {
  std::string msg = error_of();
  EXPECT_NE(msg.find("no cached login session at"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::string("for login_session '") + session + "'"), std::string::npos);
  EXPECT_NE(msg.find("run `aws login --profile dev`"), std::string::npos) << msg;

  std::filesystem::create_directories(dir.file(".aws/login/cache"));
  dir.write(".aws/login/cache/" + login_cache_file_name(session), "{not json");
  msg = error_of();
  EXPECT_NE(msg.find("is not a JSON object"), std::string::npos) << msg;

  json doc = cli_cache(test::iso_in(std::chrono::hours(1)));
  doc["accessToken"].erase("accountId");
  doc.erase("dpopKey");
  write_cache(doc);
  msg = error_of();
  EXPECT_NE(msg.find("is not valid (no accessToken.accountId, dpopKey)"), std::string::npos) << msg;

  doc = cli_cache("2026-02-30T00:00:00Z");
  write_cache(doc);
  msg = error_of();
  EXPECT_NE(msg.find("accessToken.expiresAt that is not a valid time"), std::string::npos) << msg;

  doc = cli_cache(test::iso_in(-std::chrono::minutes(1)));
  doc["dpopKey"] = "-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n";
  write_cache(doc);
  msg = error_of();
  EXPECT_NE(msg.find("the dpopKey is not a PEM private key"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("bm90IGEga2V5"), std::string::npos) << msg;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Login, SessionAndProfileNamesAreEscapedInMessages) {
  dir.write("config", "[profile dev]\nlogin_session = arn:aws:iam::1:user/\x1b[31mred " +
                          std::string(5000, 'x') + "\n");
  const std::string msg = error_of();
  EXPECT_NE(msg.find("user/\\x1b[31mred xxx"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 1200u);
  test::expect_no_control_characters(msg);
}

TEST_F(Login, RefreshNeedsARegionUnlessTheEndpointIsGiven) {
  dir.write("config", std::string("[profile dev]\nlogin_session = ") + session + "\n");
  cache_expiring_in(-std::chrono::minutes(1));
  scoped_env no_endpoint("AWS_ENDPOINT_URL_SIGNIN", std::nullopt);
  const std::string msg = error_of();
  EXPECT_NE(msg.find("needs a region for AWS Sign-In"), std::string::npos) << msg;
  EXPECT_TRUE(server.requests().empty());
  // AWS_ENDPOINT_URL (every service's override) reaches the fake too.
  scoped_env any("AWS_ENDPOINT_URL", server.url());
  EXPECT_EQ(resolve()->access_key_id, "ASIALOGINREFRESHED01");
}

TEST_F(Login, UnreachableOrBrokenServicesAreNamed) {
  cache_expiring_in(-std::chrono::minutes(1));
  {
    test::refused_port down;
    scoped_env ep("AWS_ENDPOINT_URL_SIGNIN", down.url());
    const std::string msg = error_of();
    EXPECT_NE(msg.find("could not connect"), std::string::npos) << msg;
    EXPECT_NE(msg.find("AWS_ENDPOINT_URL_SIGNIN"), std::string::npos) << msg;
  }
  const std::vector<std::pair<test::scripted_response, std::string>> cases = {
      {{500, R"({"__type":"InternalServerException","error":"server_error","message":"x"})"},
       "retry later"},
      {{200, R"({"accessToken":{"accessKeyId":"A"},"expiresIn":900})"},
       "answered without accessToken, expiresIn and refreshToken"},
      {{200, "<html>"}, "answered without accessToken"},
  };
  for (const auto& [answer, expected] : cases) {
    test::fake_aws_server broken;
    broken.on("POST", "/v1/token", answer);
    scoped_env ep("AWS_ENDPOINT_URL_SIGNIN", broken.url());
    const std::string msg = error_of();
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
  EXPECT_EQ(cached()["refreshToken"], test::login_refresh_token());
}

TEST_F(Login, NoFailureQuotesASecretOrTheKey) {
  // Every secret the session holds, the key included, against each way a refresh can fail.
  std::vector<std::string> messages;
  cache_expiring_in(-std::chrono::minutes(1));
  for (const char* code :
       {"TOKEN_EXPIRED", "USER_CREDENTIALS_CHANGED", "INSUFFICIENT_PERMISSIONS"}) {
    signin->deny(code);
    messages.push_back(error_of());
  }
  test::fake_aws_server echo;  // a service that repeats what it was sent
  echo.on("POST", "/v1/token", [](const test::recorded_request& r) {
    return test::scripted_response{400,
                                   json{{"__type", "ValidationException"},
                                        {"error", "INVALID_REQUEST"},
                                        {"message", r.body + " " + r.header("dpop").value_or("")}}
                                       .dump()};
  });
  {
    scoped_env ep("AWS_ENDPOINT_URL_SIGNIN", echo.url());
    messages.push_back(error_of());
  }
  json doc = cli_cache(test::iso_in(-std::chrono::minutes(1)));
  doc["dpopKey"] = key.pem.substr(0, key.pem.size() / 2);
  write_cache(doc);
  messages.push_back(error_of());
  for (const auto& m : messages) {
    test::expect_no_secrets(m);
    EXPECT_EQ(m.find("PRIVATE KEY"), std::string::npos) << m;
    std::istringstream lines(key.pem);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("-----", 0) != 0) {
        EXPECT_EQ(m.find(line), std::string::npos) << m;
      }
    }
  }
}

TEST_F(Login, LoginSessionComesBeforeCredentialProcess) {
  const std::string marker = dir.file("process-ran");
  const std::string helper = dir.script("helper", "touch '" + marker + "'\nexit 1\n");
  dir.write("config", std::string("[profile dev]\nlogin_session = ") + session +
                          "\nregion = us-west-2\ncredential_process = " + helper + "\n");
  cache_expiring_in(std::chrono::hours(1));
  EXPECT_EQ(resolve()->source, "login:dev");
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(Login, TheDefaultChainResolvesLoginProfiles) {
  cache_expiring_in(std::chrono::minutes(1));
  scoped_env profile("AWS_PROFILE", "dev");
  auto chain = make_caching_provider(credential_sources::make_default_chain({}, net));
  const credentials c = chain->resolve();
  EXPECT_EQ(c.source, "login:dev");
  EXPECT_EQ(c.access_key_id, "ASIALOGINREFRESHED01");
  EXPECT_EQ(chain->resolve().access_key_id, "ASIALOGINREFRESHED01");
  EXPECT_EQ(signin->refreshes(), 1);
}

TEST_F(Login, TwoChainsInOneProcessRefreshOnce) {
  // Two pools, say: each has its own chain and cache, but the session is refreshed once and
  // the second reads what the first wrote (the refresh token rotates).
  cache_expiring_in(-std::chrono::minutes(1));
  scoped_env profile("AWS_PROFILE", "dev");
  auto a = make_caching_provider(credential_sources::make_default_chain({}, net));
  auto b = make_caching_provider(credential_sources::make_default_chain({}, net));
  credentials ca, cb;
  std::thread ta([&] { ca = a->resolve(); });
  std::thread tb([&] { cb = b->resolve(); });
  ta.join();
  tb.join();
  EXPECT_EQ(ca.access_key_id, "ASIALOGINREFRESHED01");
  EXPECT_EQ(cb.access_key_id, "ASIALOGINREFRESHED01");
  EXPECT_EQ(signin->refreshes(), 1);
  EXPECT_EQ(server.count("POST", "/v1/token"), 1u);
}

// DPoP proofs themselves.

TEST(Dpop, KeyCoordinatesMatchTheRustSdkVector) {
  // aws-config/src/login/dpop.rs (smithy-rs): test_header_extracts_public_coordinates.
  const std::string pem =
      "-----BEGIN EC PRIVATE KEY-----\n"
      "MHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\n"
      "AwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n"
      "2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n"
      "-----END EC PRIVATE KEY-----\n";
  const auto k = credential_sources::dpop::key::from_pem(pem, "test");
  EXPECT_EQ(k.jwk_x(), "Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic");
  EXPECT_EQ(k.jwk_y(), "fOwX-hmPrNvtUaag79EaWYgyDAq2a7AIfkSvUt0Amhg");
}

TEST(Dpop, CoordinatesAgreeWithOpenSslsPublicPoint) {
  const auto generated = test::dpop_test_key::generate();
  const auto k = credential_sources::dpop::key::from_pem(generated.pem, "test");
  EXPECT_EQ(k.jwk_x(), generated.x);
  EXPECT_EQ(k.jwk_y(), generated.y);
}

TEST(Dpop, ProofsAreCompactJwsWithAFreshJtiEachTime) {
  const auto k = credential_sources::dpop::key::from_pem(test::dpop_test_key::generate().pem, "t");
  const auto now = std::chrono::system_clock::now();
  const std::string a = k.proof("POST", "https://us-east-1.signin.aws.amazon.com/v1/token", now);
  const std::string b = k.proof("POST", "https://us-east-1.signin.aws.amazon.com/v1/token", now);
  EXPECT_NE(a, b);
  EXPECT_EQ(std::count(a.begin(), a.end(), '.'), 2);
  EXPECT_EQ(
      a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
      std::string::npos)
      << a;
}

TEST(Dpop, Base64UrlHasNoPaddingAndTheUrlAlphabet) {
  using credential_sources::dpop::base64url;
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
}

TEST(Dpop, KeysThatAreNotP256AreRefusedWithoutBeingQuoted) {
  std::string msg = credentials_error_of(
      [] { credential_sources::dpop::key::from_pem("secretish-not-a-key", "who"); });
  EXPECT_NE(msg.find("who: the dpopKey is not a PEM private key"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("secretish"), std::string::npos) << msg;
  const std::string p384 = test::dpop_test_key::generate("P-384").pem;
  msg = credentials_error_of([&] { credential_sources::dpop::key::from_pem(p384, "who"); });
  EXPECT_NE(msg.find("who: the dpopKey is not an EC key on P-256"), std::string::npos) << msg;
}

}  // namespace
}  // namespace dsql
