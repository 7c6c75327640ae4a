// What a pool reports through the log and the metrics sink when nothing accepts connections:
// the connect attempts and failures, the acquires and the timeout, as counters and events.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "dsql/log.hpp"
#include "dsql/metrics.hpp"
#include "dsql/pool.hpp"

namespace dsql {
namespace {

using std::chrono::milliseconds;

// A port on 127.0.0.1 that nothing listens on (bound, read, closed again).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(ObservePool, FailedConnectsAndTimeoutsAreCountedAndLogged) {
  std::mutex m;
  std::vector<log_event> events;
  set_log_handler(
      [&](const log_event& e) {
        std::lock_guard<std::mutex> lk(m);
        events.push_back(e);
      },
      log_level::debug);
  auto counters = std::make_shared<metrics_counters>();
  set_metrics_sink(counters);
  {
    config cfg;
    cfg.host = "127.0.0.1";
    cfg.region = "us-east-1";
    cfg.port = closed_port();
    cfg.sslrootcert = "system";
    cfg.credentials = std::make_shared<static_credentials_provider>(
        credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"});
    pool_options o;
    o.connect_backoff_initial = std::chrono::seconds(20);  // one connect only
    o.connect_backoff_max = std::chrono::seconds(20);
    pool p(cfg, o);
    EXPECT_THROW(p.acquire(milliseconds(5000)), connection_error);
    EXPECT_THROW(p.acquire(milliseconds(50)), pool_timeout_error);
  }
  set_metrics_sink(nullptr);
  set_log_handler(nullptr);
  EXPECT_EQ(counters->value(metric::connects_attempted), 1u);
  EXPECT_EQ(counters->value(metric::connects_failed), 1u);
  EXPECT_EQ(counters->value(metric::connects_succeeded), 0u);
  EXPECT_EQ(counters->value(metric::pool_acquires), 2u);
  EXPECT_EQ(counters->value(metric::pool_acquire_timeouts), 1u);
  EXPECT_EQ(counters->connect_latency_count(), 1u);

  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e.name);
  auto has = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  EXPECT_TRUE(has("pool.open"));
  EXPECT_TRUE(has("connect.start"));
  EXPECT_TRUE(has("connect.failure"));
  EXPECT_TRUE(has("pool.connect_failed"));
  EXPECT_TRUE(has("pool.acquire_timeout"));
  for (const auto& e : events) {
    if (e.name != "connect.failure") continue;
    EXPECT_EQ(e.field("host"), "127.0.0.1");
    EXPECT_TRUE(e.field("duration_ms"));
    EXPECT_NE(e.field("error").value_or("").find("127.0.0.1"), std::string::npos);
  }
  for (const auto& e : events) {
    const std::string line = format_log_line(e);
    EXPECT_EQ(line.find("wJalrXUtnFEMI"), std::string::npos) << line;
    EXPECT_EQ(line.find("X-Amz-"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace dsql
