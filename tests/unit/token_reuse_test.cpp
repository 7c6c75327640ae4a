// Token reuse in the connector, which the pool relies on: one token for many connections while
// it is young, a single signing when many threads need one at once.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "dsql/connection.hpp"
#include "dsql/errors.hpp"

namespace dsql {
namespace {

struct fake_clock {
  std::atomic<std::int64_t> seconds{1700000000};
  std::chrono::system_clock::time_point now() const {
    return std::chrono::system_clock::time_point(std::chrono::seconds(seconds.load()));
  }
};

config counting_config(std::atomic<int>& resolves) {
  config cfg;
  cfg.host = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
  cfg.sslrootcert = "system";
  cfg.credentials = std::make_shared<function_credentials_provider>("test", [&resolves] {
    ++resolves;
    // Slow enough that concurrent callers overlap if nothing serialises them.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"};
  });
  return cfg;
}

TEST(TokenReuse, ConcurrentCallersShareOneSigning) {
  std::atomic<int> resolves{0};
  fake_clock clock;
  connector c(counting_config(resolves), connector_options{0.8}, [&] { return clock.now(); });
  std::mutex m;
  std::set<std::string> tokens;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto t = c.token();
      std::lock_guard<std::mutex> lock(m);
      tokens.insert(t);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(resolves.load(), 1);
  EXPECT_EQ(tokens.size(), 1u);
}

TEST(TokenReuse, RenewsAtTheConfiguredShareOfTheLifetime) {
  std::atomic<int> resolves{0};
  fake_clock clock;
  connector c(counting_config(resolves), connector_options{0.8}, [&] { return clock.now(); });
  const auto first = c.token();
  clock.seconds += 719;  // 80% of 900 s is 720 s
  EXPECT_EQ(c.token(), first);
  EXPECT_EQ(resolves.load(), 1);
  clock.seconds += 1;
  const auto second = c.token();
  EXPECT_NE(second, first);
  EXPECT_EQ(resolves.load(), 2);
}

TEST(TokenReuse, AMovedConnectorKeepsItsTokenAndTheMovedFromOneSaysSo) {
  std::atomic<int> resolves{0};
  fake_clock clock;
  connector first(counting_config(resolves), connector_options{0.8}, [&] { return clock.now(); });
  const auto token = first.token();
  connector second(std::move(first));
  EXPECT_EQ(second.token(), token);
  EXPECT_EQ(resolves.load(), 1);
  try {
    (void)first.token();  // NOLINT(bugprone-use-after-move): what the test is about
    FAIL() << "a moved-from connector signed a token";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("moved from"), std::string::npos) << e.what();
  }
  first = std::move(second);
  EXPECT_EQ(first.token(), token);
}

TEST(TokenReuse, ZeroSignsEveryTime) {
  std::atomic<int> resolves{0};
  fake_clock clock;
  connector c(counting_config(resolves), connector_options{0.0}, [&] { return clock.now(); });
  c.token();
  c.token();
  EXPECT_EQ(resolves.load(), 2);
}

TEST(TokenReuse, FractionOutsideZeroToOneIsRejected) {
  std::atomic<int> resolves{0};
  EXPECT_THROW({ connector c(counting_config(resolves), connector_options{1.0}); }, config_error);
  EXPECT_THROW({ connector c(counting_config(resolves), connector_options{-0.1}); }, config_error);
}

}  // namespace
}  // namespace dsql
