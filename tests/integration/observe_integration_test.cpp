// The log and the metrics against `dsql local`: a connect, a pool, a refused login, credentials
// from the environment and a token with a session token, all logged at debug, and not one
// secret (access key, secret key, session token, password, token) in any line.

#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "dsql/dsql.hpp"
#include "local_endpoint.hpp"

namespace dsql {
namespace {

// Guarded by m: the handler runs on whichever thread logs.
struct capture {
  std::mutex m;
  std::vector<log_event> events;
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lk(m);
    std::vector<std::string> out;
    for (const auto& e : events) {
      std::string line = format_log_line(e);
      // A handler that prints fields itself sees the same values.
      for (const auto& f : e.fields) line += " | " + f.key + ": " + f.value;
      out.push_back(line);
    }
    return out;
  }
  const log_event* find(const std::string& name) {
    std::lock_guard<std::mutex> lk(m);
    for (const auto& e : events) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }
};

TEST(ObserveRedaction, NoSecretInAnyLogLine) {
  test::local_endpoint ep;
  capture cap;
  set_log_handler(
      [&](const log_event& e) {
        std::lock_guard<std::mutex> lk(cap.m);
        cap.events.push_back(e);
      },
      log_level::debug);
  auto counters = std::make_shared<metrics_counters>();
  set_metrics_sink(counters);

  // Credentials from the environment, through the default chain and its cache.
  ::setenv("AWS_ACCESS_KEY_ID", ep.access_key_id().c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", ep.secret_access_key().c_str(), 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  ::unsetenv("AWS_PROFILE");
  config cfg = ep.config();
  cfg.credentials = nullptr;
  std::vector<std::string> tokens;
  {
    connector source(cfg);
    connection c = source.connect();
    EXPECT_EQ(c.exec("SELECT 1").value(0, 0), "1");
    tokens.push_back(source.token());  // the token it logged in with (reused, not re-signed)
  }
  {
    pool p(ep.config());
    lease l = p.acquire();
    EXPECT_EQ(l->exec("SELECT 2").value(0, 0), "2");
  }
  // A refused login, with a wrong secret key in play.
  const std::string wrong_secret = "WRONGsecretKEY0123456789abcdefghijklmnop";
  config bad = ep.config();
  bad.credentials = std::make_shared<static_credentials_provider>(
      credentials{ep.access_key_id(), wrong_secret, "", {}, "wrong keys"});
  try {
    connector refused(bad);
    tokens.push_back(refused.token());
    refused.connect();
    ADD_FAILURE() << "expected auth_error";
  } catch (const auth_error& e) {
    EXPECT_EQ(std::string(e.what()).find(wrong_secret), std::string::npos);
  }
  // A token signed with a session token.
  const std::string session_token = "SESSIONtokenSECRET0123456789abcdefZZZZ";
  token_generator gen(std::make_shared<static_credentials_provider>(credentials{
      "AKIDSESSIONKEYTEST01", "sessionSECRETkey0123456789abcdefghijkl", session_token, {}, "sts"}));
  tokens.push_back(gen.generate(
      {"localhost", ep.region(), token_action::db_connect_admin, std::chrono::seconds(900)}));
  ASSERT_NE(tokens.back().find(session_token), std::string::npos);
  // A password in a URI is refused, and not repeated.
  const std::string password = "PASSWORDsecret0123";
  try {
    config_from_string("dsql://admin:" + password + "@localhost/postgres");
    ADD_FAILURE() << "expected config_error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()).find(password), std::string::npos) << e.what();
  }
  set_log_handler(nullptr);
  set_metrics_sink(nullptr);

  const std::vector<std::string> secrets = {ep.access_key_id(),
                                            ep.secret_access_key(),
                                            wrong_secret,
                                            session_token,
                                            "AKIDSESSIONKEYTEST01",
                                            "sessionSECRETkey0123456789abcdefghijkl",
                                            password,
                                            "X-Amz-"};
  const auto lines = cap.lines();
  ASSERT_GT(lines.size(), 5u);
  for (const auto& line : lines) {
    for (const auto& s : secrets) EXPECT_EQ(line.find(s), std::string::npos) << s << " in " << line;
    for (const auto& t : tokens) EXPECT_EQ(line.find(t), std::string::npos) << line;
  }

  const log_event* resolved = cap.find("credentials.resolved");
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->field("source"), "environment");
  ASSERT_TRUE(cap.find("token.signed"));
  EXPECT_EQ(cap.find("token.signed")->field("region"), ep.region());
  ASSERT_TRUE(cap.find("connect.success"));
  EXPECT_TRUE(cap.find("connect.success")->field("duration_ms"));
  const log_event* failure = cap.find("connect.failure");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->field("sqlstate"), "28000");
  EXPECT_FALSE(failure->field("diagnosis").value_or("").empty());
  EXPECT_TRUE(cap.find("pool.open"));
  EXPECT_TRUE(cap.find("pool.connection_opened"));

  EXPECT_GE(counters->value(metric::connects_succeeded), 2u);
  EXPECT_EQ(counters->value(metric::connects_failed), 1u);
  EXPECT_EQ(counters->value(metric::connects_attempted),
            counters->value(metric::connects_succeeded) + 1);
  EXPECT_GE(counters->value(metric::pool_acquires), 1u);
  EXPECT_EQ(counters->connect_latency_count(), counters->value(metric::connects_attempted));
}

}  // namespace
}  // namespace dsql
