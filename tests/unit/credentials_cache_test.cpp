#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "credentials_test_support.hpp"
#include "dsql/credentials.hpp"

namespace dsql {
namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::system_clock::time_point;
using test::credentials_error_of;

// A controllable clock and an inner provider that counts calls and can be told to fail.
class CachingProvider : public ::testing::Test {
 protected:
  std::atomic<time_point> now{test::at("2030-01-01T00:00:00Z")};
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  std::atomic<time_point> next_expiry{test::at("2030-01-01T01:00:00Z")};
  std::function<void()> during_refresh;  // runs inside the inner provider, before returning

  std::shared_ptr<credentials_provider> make(std::chrono::seconds early = 5min) {
    auto inner = std::make_shared<function_credentials_provider>("inner", [this] {
      const int n = ++calls;
      if (during_refresh) during_refresh();
      if (fail) throw credentials_error("refresh failed (attempt " + std::to_string(n) + ")");
      credentials c;
      c.access_key_id = "AKID" + std::to_string(n);
      c.secret_access_key = test::cache_secret();
      c.expiration = next_expiry.load();
      return c;
    });
    return make_caching_provider(inner, early, [this] { return now.load(); });
  }
};

TEST_F(CachingProvider, CachesUntilTheRefreshWindowThenRefreshes) {
  const auto p = make();
  EXPECT_EQ(p->resolve().access_key_id, "AKID1");
  now = test::at("2030-01-01T00:54:59Z");  // 5 min 1 s before expiry: still fresh
  EXPECT_EQ(p->resolve().access_key_id, "AKID1");
  EXPECT_EQ(calls, 1);
  next_expiry = test::at("2030-01-01T02:00:00Z");
  now = test::at("2030-01-01T00:55:00Z");  // exactly 5 min before: refresh
  EXPECT_EQ(p->resolve().access_key_id, "AKID2");
  EXPECT_EQ(p->resolve().access_key_id, "AKID2");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(p->name(), "inner");
}

TEST_F(CachingProvider, CredentialsWithoutExpirationAreCachedForever) {
  const auto p = make_caching_provider(
      std::make_shared<function_credentials_provider>("forever",
                                                      [this] {
                                                        ++calls;
                                                        credentials c;
                                                        c.access_key_id = "AKIDFOREVER";
                                                        c.secret_access_key = test::cache_secret();
                                                        return c;
                                                      }),
      5min, [this] { return now.load(); });
  p->resolve();
  now = test::at("2130-01-01T00:00:00Z");
  EXPECT_EQ(p->resolve().access_key_id, "AKIDFOREVER");
  EXPECT_EQ(calls, 1);
}

TEST_F(CachingProvider, DefaultClockIsTheSystemClock) {
  next_expiry = std::chrono::system_clock::now() + 1h;
  auto inner = std::make_shared<function_credentials_provider>("inner", [this] {
    ++calls;
    credentials c;
    c.access_key_id = "AKID";
    c.secret_access_key = test::cache_secret();
    c.expiration = next_expiry.load();
    return c;
  });
  const auto p = make_caching_provider(inner);
  p->resolve();
  p->resolve();
  EXPECT_EQ(calls, 1);
}

TEST_F(CachingProvider, FailedRefreshKeepsStillValidCredentials) {
  const auto p = make();
  EXPECT_EQ(p->resolve().access_key_id, "AKID1");
  fail = true;
  now = test::at("2030-01-01T00:58:00Z");  // in the window, not yet expired
  EXPECT_EQ(p->resolve().access_key_id, "AKID1");
  EXPECT_EQ(p->resolve().access_key_id, "AKID1");
  EXPECT_EQ(calls, 3);  // each call still tries to refresh
  fail = false;
  EXPECT_EQ(p->resolve().access_key_id, "AKID4");
}

TEST_F(CachingProvider, FailedRefreshWithExpiredCredentialsThrows) {
  const auto p = make();
  p->resolve();
  fail = true;
  now = test::at("2030-01-01T01:00:00Z");  // expired (expiry is exclusive)
  const std::string msg = credentials_error_of([&] { p->resolve(); });
  EXPECT_NE(msg.find("refresh failed (attempt 2)"), std::string::npos) << msg;
}

TEST_F(CachingProvider, FirstResolveFailureThrowsAndNextCallRetries) {
  const auto p = make();
  fail = true;
  credentials_error_of([&] { p->resolve(); });
  fail = false;
  EXPECT_EQ(p->resolve().access_key_id, "AKID2");
}

TEST_F(CachingProvider, ConcurrentFirstResolveRefreshesOnce) {
  const auto p = make();
  // Slow enough that every thread arrives while the first refresh is in flight.
  during_refresh = [] { std::this_thread::sleep_for(200ms); };
  std::atomic<int> ready{0};
  std::vector<std::future<std::string>> results;
  for (int i = 0; i < 8; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      ++ready;
      while (ready < 8) std::this_thread::yield();
      return p->resolve().access_key_id;
    }));
  }
  for (auto& r : results) EXPECT_EQ(r.get(), "AKID1");
  EXPECT_EQ(calls, 1);
}

TEST_F(CachingProvider, ConcurrentFailedFirstResolveGivesEveryWaiterTheError) {
  const auto p = make();
  fail = true;
  during_refresh = [] { std::this_thread::sleep_for(200ms); };
  std::atomic<int> ready{0};
  std::vector<std::future<std::string>> results;
  for (int i = 0; i < 8; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      ++ready;
      while (ready < 8) std::this_thread::yield();
      try {
        p->resolve();
        return std::string("no error");
      } catch (const credentials_error& e) {
        return std::string(e.what());
      }
    }));
  }
  for (auto& r : results) EXPECT_EQ(r.get(), "refresh failed (attempt 1)");
  EXPECT_EQ(calls, 1);
}

TEST_F(CachingProvider, OthersGetValidCredentialsImmediatelyWhileOneThreadRefreshes) {
  const auto p = make();
  EXPECT_EQ(p->resolve().access_key_id, "AKID1");

  std::mutex m;
  std::condition_variable cv;
  bool entered = false, release = false;
  during_refresh = [&] {
    std::unique_lock<std::mutex> lock(m);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  now = test::at("2030-01-01T00:57:00Z");  // in the window, still valid
  auto refresher = std::async(std::launch::async, [&] { return p->resolve().access_key_id; });
  {
    std::unique_lock<std::mutex> lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return entered; }));
  }
  // While the refresh is blocked, other callers must not wait for it.
  auto other = std::async(std::launch::async, [&] {
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(p->resolve().access_key_id);
    return ids;
  });
  const bool done = other.wait_for(5s) == std::future_status::ready;
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(done) << "a caller with valid cached credentials blocked on the refresh";
  for (const auto& id : other.get()) EXPECT_EQ(id, "AKID1");
  EXPECT_EQ(refresher.get(), "AKID2");
  EXPECT_EQ(calls, 2);
}

TEST_F(CachingProvider, CallersWithExpiredCredentialsWaitForTheRefresh) {
  const auto p = make();
  p->resolve();
  std::mutex m;
  std::condition_variable cv;
  bool entered = false, release = false;
  during_refresh = [&] {
    std::unique_lock<std::mutex> lock(m);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  next_expiry = test::at("2030-01-01T03:00:00Z");
  now = test::at("2030-01-01T02:00:00Z");  // expired
  auto refresher = std::async(std::launch::async, [&] { return p->resolve().access_key_id; });
  {
    std::unique_lock<std::mutex> lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return entered; }));
  }
  auto waiter = std::async(std::launch::async, [&] { return p->resolve().access_key_id; });
  EXPECT_EQ(waiter.wait_for(300ms), std::future_status::timeout);  // must not get expired creds
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  EXPECT_EQ(waiter.get(), "AKID2");
  EXPECT_EQ(refresher.get(), "AKID2");
  EXPECT_EQ(calls, 2);
}

TEST(CachingProviderArgs, RejectsNullInnerAndNegativeWindow) {
  EXPECT_THROW(make_caching_provider(nullptr), config_error);
  auto inner = std::make_shared<static_credentials_provider>(credentials{});
  EXPECT_THROW(make_caching_provider(inner, std::chrono::seconds(-1)), config_error);
}

}  // namespace
}  // namespace dsql
