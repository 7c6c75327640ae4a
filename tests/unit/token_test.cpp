#include "dsql/token.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "dsql/errors.hpp"
#include "test_support.hpp"

namespace dsql {
namespace {

using nlohmann::json;

json vectors() {
  return json::parse(test::read_file(test::data_path("dsql_token_vectors.json")));
}

credentials creds_of(const json& c) {
  credentials creds;
  creds.access_key_id = c.at("access_key_id").get<std::string>();
  creds.secret_access_key = c.at("secret_access_key").get<std::string>();
  creds.session_token = c.value("session_token", "");
  return creds;
}

token_request request_of(const json& c) {
  token_request r;
  r.hostname = c.at("hostname").get<std::string>();
  r.region = c.at("region").get<std::string>();
  r.action = c.at("action") == "DbConnectAdmin" ? token_action::db_connect_admin
                                                : token_action::db_connect;
  r.expires_in = std::chrono::seconds(c.at("expires_in").get<std::int64_t>());
  return r;
}

TEST(Token, ReproducesEveryAwsVectorByteForByte) {
  const json cases = vectors().at("cases");
  ASSERT_GE(cases.size(), 9u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    EXPECT_EQ(generate_token(request_of(c), creds_of(c), test::at(c.at("time"))),
              c.at("token").get<std::string>());
  }
}

TEST(Token, GeneratorWithInjectedClockReproducesVectorsAndReusesKeys) {
  const json all = vectors();  // the loop below iterates into it: keep it alive
  for (const auto& c : all.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    auto provider = std::make_shared<static_credentials_provider>(creds_of(c));
    const auto t = test::at(c.at("time"));
    token_generator gen(provider, [t] { return t; });
    const std::string expected = c.at("token");
    EXPECT_EQ(gen.generate(request_of(c)), expected);
    EXPECT_EQ(gen.generate(request_of(c)), expected);  // cached signing key
  }
}

TEST(Token, KeyCacheFollowsSecretDateAndRegion) {
  // A cached key must never sign for a different secret, day or region.
  credentials a{"AKID", "secret-a", "", std::nullopt, ""};
  credentials b{"AKID", "secret-b", "", std::nullopt, ""};
  std::atomic<int> which{0};
  auto provider =
      std::make_shared<function_credentials_provider>("test", [&] { return which == 0 ? a : b; });
  auto now = test::at("2026-03-01T23:59:59Z");
  token_generator gen(provider, [&] { return now; });
  token_request r{"h.dsql.us-east-1.on.aws", "us-east-1", token_action::db_connect,
                  std::chrono::seconds(900)};

  EXPECT_EQ(gen.generate(r), generate_token(r, a, now));
  which = 1;
  EXPECT_EQ(gen.generate(r), generate_token(r, b, now));
  now = test::at("2026-03-02T00:00:01Z");
  EXPECT_EQ(gen.generate(r), generate_token(r, b, now));
  r.region = "eu-west-1";
  EXPECT_EQ(gen.generate(r), generate_token(r, b, now));
}

TEST(Token, CachedSessionTokenFollowsRefreshedCredentials) {
  // STS credentials refresh their session token while the secret may look alike: every token
  // must carry the session token it was resolved with.
  credentials first{"ASIA", "secret", "session/one+", std::nullopt, ""};
  credentials second{"ASIA", "secret", "session/two=", std::nullopt, ""};
  credentials none{"AKIA", "secret", "", std::nullopt, ""};
  int which = 0;
  auto provider = std::make_shared<function_credentials_provider>("test", [&] {
    return which == 0 ? first : which == 1 ? second : none;
  });
  const auto now = test::at("2026-03-01T12:00:00Z");
  token_generator gen(provider, [&] { return now; });
  token_request r{"h.dsql.us-east-1.on.aws", "us-east-1", token_action::db_connect,
                  std::chrono::seconds(900)};
  EXPECT_EQ(gen.generate(r), generate_token(r, first, now));
  which = 1;
  EXPECT_EQ(gen.generate(r), generate_token(r, second, now));
  which = 2;
  const std::string plain = gen.generate(r);
  EXPECT_EQ(plain, generate_token(r, none, now));
  EXPECT_EQ(plain.find("X-Amz-Security-Token"), std::string::npos);
}

TEST(Token, ActionFollowsUser) {
  EXPECT_EQ(action_for_user("admin"), token_action::db_connect_admin);
  EXPECT_EQ(action_for_user("Admin"), token_action::db_connect);
  EXPECT_EQ(action_for_user("app"), token_action::db_connect);
  EXPECT_EQ(to_string(token_action::db_connect), "DbConnect");
  EXPECT_EQ(to_string(token_action::db_connect_admin), "DbConnectAdmin");
}

TEST(Token, ExpiryOutsideOneToOneWeekIsRefused) {
  credentials c{"AKID", "SECRET", "", std::nullopt, ""};
  const auto now = test::at("2026-01-01T00:00:00Z");
  token_request r{"h.dsql.us-east-1.on.aws", "us-east-1", token_action::db_connect,
                  std::chrono::seconds(0)};
  for (std::int64_t bad : {std::int64_t{0}, std::int64_t{-5}, std::int64_t{604801}}) {
    r.expires_in = std::chrono::seconds(bad);
    try {
      generate_token(r, c, now);
      ADD_FAILURE() << "expiry " << bad << " accepted";
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find("between 1 and 604800"), std::string::npos);
    }
  }
  r.expires_in = std::chrono::seconds(1);
  EXPECT_NO_THROW(generate_token(r, c, now));
  r.expires_in = max_token_expiry;
  EXPECT_NO_THROW(generate_token(r, c, now));
}

TEST(Token, BadHostRegionOrCredentialsAreRefused) {
  credentials c{"AKID", "SECRET", "", std::nullopt, ""};
  const auto now = test::at("2026-01-01T00:00:00Z");
  auto refused = [&](token_request r, credentials creds) {
    try {
      generate_token(r, creds, now);
    } catch (const error& e) {
      EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos);
      return true;
    }
    return false;
  };
  EXPECT_TRUE(refused({"", "us-east-1"}, c));
  EXPECT_TRUE(refused({"https://h.dsql.us-east-1.on.aws", "us-east-1"}, c));
  EXPECT_TRUE(refused({"h.dsql.us-east-1.on.aws/x", "us-east-1"}, c));
  EXPECT_TRUE(refused({"h.dsql.us-east-1.on.aws", ""}, c));
  EXPECT_TRUE(refused({"h.dsql.us-east-1.on.aws", "US EAST"}, c));
  EXPECT_TRUE(refused({"h.dsql.us-east-1.on.aws", "us-east-1"}, {"", "SECRET"}));
  EXPECT_TRUE(refused({"h.dsql.us-east-1.on.aws", "us-east-1"}, {"AKID", ""}));
}

TEST(Token, CredentialsExpiringBeforeTheTokenAreRefusedWithoutLeakingSecrets) {
  const auto now = test::at("2026-01-01T00:00:00Z");
  credentials c{"AKID", "TOPSECRET", "SESSIONTOKEN", now + std::chrono::seconds(600), "process"};
  auto provider = std::make_shared<static_credentials_provider>(c);
  token_generator gen(provider, [now] { return now; });
  token_request r{"h.dsql.us-east-1.on.aws", "us-east-1", token_action::db_connect,
                  std::chrono::seconds(900)};
  try {
    gen.generate(r);
    FAIL() << "token outliving its credentials was signed";
  } catch (const credentials_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("expire in 600 s"), std::string::npos) << what;
    EXPECT_NE(what.find("process"), std::string::npos) << what;
    EXPECT_EQ(what.find("TOPSECRET"), std::string::npos);
    EXPECT_EQ(what.find("SESSIONTOKEN"), std::string::npos);
  }
  r.expires_in = std::chrono::seconds(600);
  EXPECT_NO_THROW(gen.generate(r));

  credentials expired = c;
  expired.expiration = now - std::chrono::seconds(1);
  token_generator gen2(std::make_shared<static_credentials_provider>(expired),
                       [now] { return now; });
  EXPECT_THROW(gen2.generate(r), credentials_error);
}

}  // namespace
}  // namespace dsql
