#include "dsql/pool.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace dsql {
namespace {

using std::chrono::milliseconds;

// A port on 127.0.0.1 that nothing listens on (bound, read, closed again).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

config unreachable_config(std::atomic<int>* resolves = nullptr) {
  config cfg;
  cfg.host = "127.0.0.1";
  cfg.region = "us-east-1";
  cfg.port = closed_port();
  cfg.sslrootcert = "system";
  cfg.credentials = std::make_shared<function_credentials_provider>("test", [resolves] {
    if (resolves != nullptr) ++*resolves;
    return credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"};
  });
  return cfg;
}

TEST(PoolOptions, DefaultsMatchDsql) {
  const pool_options o;
  EXPECT_EQ(o.max_size, 10u);
  EXPECT_EQ(o.min_size, 0u);
  EXPECT_EQ(o.acquire_timeout, std::chrono::seconds(30));
  EXPECT_EQ(o.max_lifetime, std::chrono::minutes(55));
  EXPECT_EQ(o.idle_timeout, std::chrono::minutes(10));
  EXPECT_DOUBLE_EQ(o.token_reuse_fraction, 0.8);
  EXPECT_NO_THROW(validate(o));
}

TEST(PoolOptions, RejectsWhatCannotWork) {
  const auto bad = [](auto change) {
    pool_options o;
    change(o);
    EXPECT_THROW(validate(o), config_error);
    EXPECT_THROW(pool(unreachable_config(), o), config_error);
  };
  bad([](pool_options& o) { o.max_size = 0; });
  bad([](pool_options& o) { o.min_size = 11; });
  bad([](pool_options& o) { o.acquire_timeout = milliseconds(0); });
  bad([](pool_options& o) { o.acquire_timeout = milliseconds(-5); });
  bad([](pool_options& o) { o.max_lifetime = milliseconds(0); });
  bad([](pool_options& o) { o.idle_timeout = milliseconds(-1); });
  bad([](pool_options& o) { o.validate_idle_after = milliseconds(-1); });
  bad([](pool_options& o) { o.max_lifetime_jitter = 1.0; });
  bad([](pool_options& o) { o.max_lifetime_jitter = -0.1; });
  bad([](pool_options& o) { o.max_concurrent_connects = 0; });
  bad([](pool_options& o) { o.connect_backoff_initial = milliseconds(0); });
  bad([](pool_options& o) { o.connect_backoff_max = milliseconds(1); });
  bad([](pool_options& o) { o.upkeep_interval = milliseconds(0); });
  bad([](pool_options& o) { o.token_reuse_fraction = 1.0; });
  bad([](pool_options& o) { o.endpoints = {""}; });
  bad([](pool_options& o) { o.endpoints = {"host:0"}; });
  bad([](pool_options& o) { o.endpoints = {"host:70000"}; });
  bad([](pool_options& o) { o.endpoints = {"host:"}; });
  bad([](pool_options& o) { o.endpoints = {"[::1"}; });
  pool_options ok;
  ok.endpoints = {"a.dsql.us-east-1.on.aws", "b.dsql.us-east-2.on.aws:5432", "[::1]:5433", "::1"};
  EXPECT_NO_THROW(validate(ok));
  pool_options named;
  named.endpoints = {"a.dsql.us-east-1.on.aws", "b.dsql.us-east-2.on.aws:x"};
  try {
    validate(named);
    ADD_FAILURE() << "a port of 'x' was accepted";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("'b.dsql.us-east-2.on.aws:x' in pool_options.endpoints"),
              std::string::npos)
        << e.what();
  }
}

TEST(PoolOptions, BadConfigIsAConfigError) {
  config cfg = unreachable_config();
  cfg.host.clear();
  EXPECT_THROW(pool{cfg}, config_error);
}

TEST(Lease, EmptyLeaseGivesAClearError) {
  lease l;
  EXPECT_FALSE(l);
  EXPECT_THROW(l.get(), lease_error);
  EXPECT_THROW(l->exec("SELECT 1"), lease_error);
  EXPECT_THROW(*l, lease_error);
  EXPECT_NO_THROW(l.release());
  EXPECT_NO_THROW(l.release_broken());
  lease moved(std::move(l));
  EXPECT_THROW(moved.get(), lease_error);
}

TEST(Pool, ConnectFailureReachesTheAcquirer) {
  pool_options o;
  o.connect_backoff_initial = std::chrono::seconds(20);  // longer than any stall of the test
  o.connect_backoff_max = std::chrono::seconds(20);
  pool p(unreachable_config(), o);
  try {
    p.acquire(milliseconds(5000));
    FAIL() << "expected connection_error";
  } catch (const auth_error&) {
    FAIL() << "a closed port is not a refusal";
  } catch (const connection_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
  // The next acquire does not hammer the endpoint: it waits out its own timeout under the
  // backoff and says why.
  try {
    p.acquire(milliseconds(50));
    FAIL() << "expected pool_timeout_error";
  } catch (const pool_timeout_error& e) {
    EXPECT_NE(std::string(e.what()).find("last connect failure"), std::string::npos) << e.what();
  }
  const auto s = p.stats();
  EXPECT_EQ(s.failed_connects, 1u);
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.waits, 1u);
  EXPECT_EQ(s.open, 0u);
  EXPECT_EQ(s.created, 0u);
}

TEST(Pool, AcquireAfterCloseIsPoolClosedError) {
  pool p(unreachable_config());
  EXPECT_FALSE(p.closed());
  EXPECT_TRUE(p.close());
  EXPECT_TRUE(p.closed());
  EXPECT_TRUE(p.close());  // idempotent
  EXPECT_THROW(p.acquire(), pool_closed_error);
  EXPECT_THROW(p.acquire(milliseconds(10)), pool_closed_error);
}

TEST(Pool, NonPositiveAcquireTimeoutIsAConfigError) {
  pool p(unreachable_config());
  EXPECT_THROW(p.acquire(milliseconds(0)), config_error);
  EXPECT_THROW(p.acquire(milliseconds(-1)), config_error);
}

TEST(Pool, CloseWakesWaitersWithPoolClosedError) {
  pool_options o;
  o.connect_backoff_initial = std::chrono::seconds(30);
  o.connect_backoff_max = std::chrono::seconds(30);
  pool p(unreachable_config(), o);
  EXPECT_THROW(p.acquire(), connection_error);  // starts a long backoff
  std::vector<std::thread> waiters;
  std::atomic<int> closed_errors{0}, other{0};
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&] {
      try {
        p.acquire(std::chrono::seconds(60));
        ++other;
      } catch (const pool_closed_error&) {
        ++closed_errors;
      } catch (...) {
        ++other;
      }
    });
  }
  // Whether a waiter is already waiting or arrives after close, it must get pool_closed_error.
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_TRUE(p.close());
  for (auto& t : waiters) t.join();
  EXPECT_EQ(closed_errors.load(), 4);
  EXPECT_EQ(other.load(), 0);
}

TEST(Pool, ConcurrentConnectsAreBounded) {
  // Credentials are resolved for every token here (token reuse off), so the provider sees
  // every connect; it holds each one long enough for the others to pile up.
  std::atomic<int> inside{0}, most{0};
  config cfg = unreachable_config();
  cfg.credentials = std::make_shared<function_credentials_provider>("test", [&] {
    const int now = ++inside;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(milliseconds(30));
    --inside;
    return credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"};
  });
  pool_options o;
  o.max_concurrent_connects = 2;
  o.token_reuse_fraction = 0.0;
  o.connect_backoff_initial = milliseconds(1);
  o.connect_backoff_max = milliseconds(1);
  pool p(cfg, o);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 3; ++k) {
        try {
          p.acquire(milliseconds(2000));
        } catch (const error&) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 24);
  EXPECT_GE(most.load(), 1);
  EXPECT_LE(most.load(), 2);
  EXPECT_GE(p.stats().failed_connects, 1u);
}

TEST(Pool, FailoverTriesEveryEndpointAndNamesThem) {
  pool_options o;
  const auto a = closed_port(), b = closed_port();
  o.endpoints = {"127.0.0.1:" + std::to_string(a), "localhost:" + std::to_string(b)};
  pool p(unreachable_config(), o);
  EXPECT_EQ(p.current_endpoint(), "127.0.0.1:" + std::to_string(a));
  try {
    p.acquire(milliseconds(5000));
    FAIL() << "expected connection_error";
  } catch (const connection_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no endpoint accepted"), std::string::npos) << what;
    EXPECT_NE(what.find("127.0.0.1:" + std::to_string(a)), std::string::npos) << what;
    EXPECT_NE(what.find("localhost:" + std::to_string(b)), std::string::npos) << what;
  }
  EXPECT_EQ(p.stats().failed_connects, 1u);
}

}  // namespace
}  // namespace dsql
