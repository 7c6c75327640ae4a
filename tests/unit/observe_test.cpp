// The log interface (levels, handler, DSQL_LOG, escaping) and the metrics sink, without a server.
#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dsql/credentials.hpp"
#include "dsql/errors.hpp"
#include "dsql/log.hpp"
#include "dsql/metrics.hpp"
#include "dsql/retry.hpp"
#include "dsql/token.hpp"
#include "log_env.hpp"
#include "observe.hpp"

namespace dsql {
namespace {

// Collects events; thread-safe like any handler must be.
struct capture {
  std::mutex m;
  std::vector<log_event> events;
  log_handler handler() {
    return [this](const log_event& e) {
      std::lock_guard<std::mutex> lk(m);
      events.push_back(e);
    };
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lk(m);
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(format_log_line(e));
    return out;
  }
};

// Every test starts and ends silent, as a process does.
class Log : public ::testing::Test {
 protected:
  void SetUp() override { set_log_handler(nullptr); }
  void TearDown() override {
    set_log_handler(nullptr);
    set_metrics_sink(nullptr);
    ::unsetenv("DSQL_LOG");
  }
};

TEST_F(Log, ParsesLevelNames) {
  EXPECT_EQ(parse_log_level("debug"), log_level::debug);
  EXPECT_EQ(parse_log_level("INFO"), log_level::info);
  EXPECT_EQ(parse_log_level("warn"), log_level::warn);
  EXPECT_EQ(parse_log_level("Warning"), log_level::warn);
  EXPECT_EQ(parse_log_level("error"), log_level::error);
  EXPECT_EQ(parse_log_level("off"), log_level::off);
  EXPECT_FALSE(parse_log_level(""));
  EXPECT_FALSE(parse_log_level("verbose"));
  EXPECT_FALSE(parse_log_level("debug "));
  EXPECT_EQ(to_string(log_level::warn), "warn");
}

TEST_F(Log, SilentByDefaultAndTheHandlerSeesItsLevelAndAbove) {
  EXPECT_EQ(current_log_level(), log_level::off);
  EXPECT_FALSE(detail::log_on(log_level::error));
  capture c;
  set_log_handler(c.handler(), log_level::info);
  EXPECT_FALSE(detail::log_on(log_level::debug));
  EXPECT_TRUE(detail::log_on(log_level::info));
  detail::log(log_level::debug, "t.debug", {});
  detail::log(log_level::info, "t.info", {{"k", "v"}});
  detail::log(log_level::error, "t.error", {});
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[0].name, "t.info");
  EXPECT_EQ(c.events[0].field("k"), "v");
  EXPECT_FALSE(c.events[0].field("nope"));
  EXPECT_EQ(c.events[1].level, log_level::error);
  set_log_handler(nullptr);
  detail::log(log_level::error, "t.after", {});
  EXPECT_EQ(c.events.size(), 2u);
  EXPECT_EQ(current_log_level(), log_level::off);
}

TEST_F(Log, ValuesAreEscapedAndLinesStayOneLine) {
  capture c;
  set_log_handler(c.handler(), log_level::debug);
  detail::log(log_level::warn, "t.escape",
              {{"host", "evil\nhost dsql: error forged=1"}, {"n", "5"}, {"empty", ""}});
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].field("host"), "evil\\nhost dsql: error forged=1");
  const std::string line = c.lines().at(0);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line, "dsql: warn t.escape host='evil\\nhost dsql: error forged=1' n=5 empty=''");
}

TEST_F(Log, HandlerExceptionsAreSwallowed) {
  set_log_handler([](const log_event&) { throw std::runtime_error("boom"); }, log_level::debug);
  EXPECT_NO_THROW(detail::log(log_level::info, "t.throw", {}));
}

TEST_F(Log, DsqlLogSendsEventsAtItsLevelToStderr) {
  ::setenv("DSQL_LOG", "warn", 1);
  detail::reread_log_env_for_tests();
  EXPECT_EQ(current_log_level(), log_level::warn);
  testing::internal::CaptureStderr();
  detail::log(log_level::info, "t.hidden", {});
  detail::log(log_level::warn, "t.shown", {{"k", "v w"}});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "dsql: warn t.shown k='v w'\n");

  // An installed handler wins over DSQL_LOG.
  capture c;
  set_log_handler(c.handler(), log_level::error);
  testing::internal::CaptureStderr();
  detail::log(log_level::warn, "t.below", {});
  detail::log(log_level::error, "t.handled", {});
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(c.events.size(), 1u);
}

TEST_F(Log, DsqlLogUnsetOrUnknownIsSilent) {
  for (const char* value : {"", "verbose", "off"}) {
    ::setenv("DSQL_LOG", value, 1);
    detail::reread_log_env_for_tests();
    EXPECT_EQ(current_log_level(), log_level::off) << value;
  }
  ::unsetenv("DSQL_LOG");
  detail::reread_log_env_for_tests();
  EXPECT_EQ(current_log_level(), log_level::off);
  ::setenv("DSQL_LOG", "DEBUG", 1);
  detail::reread_log_env_for_tests();
  EXPECT_EQ(current_log_level(), log_level::debug);
}

TEST_F(Log, HandlersCanBeSwappedWhileThreadsLog) {
  capture a, b;
  set_log_handler(a.handler(), log_level::debug);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 500; ++i) detail::log(log_level::info, "t.many", {{"i", "1"}});
    });
  }
  for (int i = 0; i < 50; ++i) set_log_handler(i % 2 ? a.handler() : b.handler(), log_level::debug);
  for (auto& t : threads) t.join();
  EXPECT_GT(a.lines().size() + b.lines().size(), 0u);
  EXPECT_LE(a.lines().size() + b.lines().size(), 2000u);
}

const char* const access_key = "AKIDOBSERVETEST12345";
const char* const secret_key = "observeSECRETkey/0123456789abcdefghijklm";
const char* const session_token = "observeSESSIONtokenZZZZ0123456789";

credentials secret_credentials() {
  credentials c;
  c.access_key_id = access_key;
  c.secret_access_key = secret_key;
  c.session_token = session_token;
  c.expiration = std::chrono::system_clock::now() + std::chrono::hours(1);
  c.source = "test-source";
  return c;
}

void expect_no_secret(const std::vector<std::string>& lines, const std::string& token) {
  for (const auto& line : lines) {
    for (const std::string& s : {std::string(access_key), std::string(secret_key),
                                 std::string(session_token), token, std::string("X-Amz-")}) {
      EXPECT_EQ(line.find(s), std::string::npos) << line;
    }
  }
}

TEST_F(Log, TokenSigningAndCredentialResolutionAreLoggedWithoutSecrets) {
  capture c;
  set_log_handler(c.handler(), log_level::debug);
  auto inner = std::make_shared<function_credentials_provider>("test-source",
                                                               [] { return secret_credentials(); });
  token_generator gen(make_caching_provider(inner));
  const std::string token =
      gen.generate({"abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws", "us-east-1",
                    token_action::db_connect, std::chrono::seconds(900)});
  ASSERT_NE(token.find(session_token), std::string::npos);  // it is in play

  const auto lines = c.lines();
  expect_no_secret(lines, token);
  const log_event* resolved = nullptr;
  const log_event* signed_event = nullptr;
  for (const auto& e : c.events) {
    if (e.name == "credentials.resolved") resolved = &e;
    if (e.name == "token.signed") signed_event = &e;
  }
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->field("source"), "test-source");
  EXPECT_NE(resolved->field("expires_at").value_or("never"), "never");
  ASSERT_TRUE(signed_event);
  EXPECT_EQ(signed_event->field("host"), "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws");
  EXPECT_EQ(signed_event->field("region"), "us-east-1");
  EXPECT_EQ(signed_event->field("action"), "DbConnect");
  EXPECT_EQ(signed_event->field("expires_in_s"), "900");
  EXPECT_TRUE(signed_event->field("expires_at"));
}

TEST_F(Log, RetriesAreLoggedAndCounted) {
  capture c;
  set_log_handler(c.handler(), log_level::info);
  auto counters = std::make_shared<metrics_counters>();
  set_metrics_sink(counters);
  retry_options o;
  o.initial_backoff = std::chrono::milliseconds(1);
  o.max_backoff = std::chrono::milliseconds(1);
  detail::retry_loop loop(o);
  try {
    throw sql_error("40001: (OC000)",
                    {"40001", "change conflicts with another transaction (OC000)"});
  } catch (...) {
    loop.next_delay();
  }
  try {
    throw rate_limited_error("rate", {"53400", "rate exceeded"});
  } catch (...) {
    loop.next_delay();
  }
  EXPECT_EQ(counters->value(metric::occ_retries), 2u);
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[0].name, "retry.occ");
  EXPECT_EQ(c.events[0].field("code"), "OC000");
  EXPECT_EQ(c.events[0].field("attempt"), "1");
  EXPECT_EQ(c.events[1].name, "retry.rate_limited");
  EXPECT_EQ(c.events[1].field("sqlstate"), "53400");
}

TEST(Metrics, CountersSeeWhatIsReportedOnlyWhileInstalled) {
  auto counters = std::make_shared<metrics_counters>();
  EXPECT_FALSE(detail::metrics_on());
  detail::count(metric::connects_attempted);  // nobody listens
  set_metrics_sink(counters);
  EXPECT_TRUE(detail::metrics_on());
  detail::count(metric::connects_attempted);
  detail::count(metric::connects_attempted, 2);
  detail::count(metric::pool_acquire_timeouts);
  detail::observe_connect_latency(std::chrono::milliseconds(3), true);
  detail::observe_connect_latency(std::chrono::milliseconds(7), false);
  set_metrics_sink(nullptr);
  detail::count(metric::connects_attempted);
  EXPECT_EQ(counters->value(metric::connects_attempted), 3u);
  EXPECT_EQ(counters->value(metric::pool_acquire_timeouts), 1u);
  EXPECT_EQ(counters->value(metric::connects_failed), 0u);
  EXPECT_EQ(counters->connect_latency_count(), 2u);
  EXPECT_EQ(counters->connect_latency_sum(), std::chrono::milliseconds(10));
  EXPECT_EQ(counters->connect_latency_max(), std::chrono::milliseconds(7));
  EXPECT_EQ(to_string(metric::connects_rate_limited), "connects_rate_limited");
}

TEST(Metrics, ConcurrentReportsAreAllCounted) {
  auto counters = std::make_shared<metrics_counters>();
  set_metrics_sink(counters);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 1000; ++i) {
        detail::count(metric::pool_acquires);
        detail::observe_connect_latency(std::chrono::microseconds(i), true);
      }
    });
  }
  for (auto& t : threads) t.join();
  set_metrics_sink(nullptr);
  EXPECT_EQ(counters->value(metric::pool_acquires), 4000u);
  EXPECT_EQ(counters->connect_latency_count(), 4000u);
  EXPECT_EQ(counters->connect_latency_max(), std::chrono::microseconds(999));
}

}  // namespace
}  // namespace dsql
