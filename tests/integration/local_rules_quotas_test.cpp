// DSQL's connection quotas as `dsql local` applies them: open connections per cluster
// (FATAL 53300) and the rate of new ones, a token bucket (FATAL 53400), seen from raw libpq (the
// SQLSTATE, in a verbose error text) and from the connector (a dsql::connection_error naming
// the quota). Sources: reference/dsql-server.md §2.4, /tmp/dsql_research/facts.md Topic 7.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "local_rules.hpp"

namespace dsql::test {
namespace {

constexpr const char* too_many = "Unable to accept connection, too many open connections.";
constexpr const char* rate_exceeded = "Unable to accept connection, rate exceeded.";

local_endpoint::options with_args(std::vector<std::string> args) {
  local_endpoint::options o;
  o.extra_args = std::move(args);
  return o;
}

// What dsql::connect throws, as text; "" when it connected. A refusal for a quota is a
// connection_error, never an auth_error (nothing is wrong with the credentials).
std::string connector_refusal(const local_endpoint& ep) {
  try {
    connection c = dsql::connect(ep.config());
    return "";
  } catch (const auth_error& e) {
    return std::string("auth_error: ") + e.what();
  } catch (const connection_error& e) {
    return e.what();
  }
}

bool connects(const local_endpoint& ep) {
  return raw_connect(ep.libpq_params()).ok;
}

TEST(ConnectionQuotas, OpenConnectionsAreCappedAndAClosedOneFreesItsSlot) {
  local_endpoint ep(with_args({"--max-connections", "3"}));
  std::vector<connection> held;
  for (int i = 0; i < 3; ++i) held.push_back(dsql::connect(ep.config()));

  const raw_connect_result fourth = raw_connect(ep.libpq_params());
  EXPECT_FALSE(fourth.ok);
  EXPECT_NE(fourth.error.find(fatal_text("53300", too_many)), std::string::npos) << fourth.error;

  const std::string refusal = connector_refusal(ep);
  EXPECT_NE(refusal.find("too many open connections"), std::string::npos) << refusal;
  EXPECT_EQ(refusal.find("auth_error"), std::string::npos) << refusal;

  // The three admitted ones work throughout.
  for (auto& c : held) EXPECT_EQ(scalar(c, "SELECT 1"), "1");

  // Closing one frees a slot (once the endpoint has seen it close).
  held[0].close();
  EXPECT_TRUE(eventually([&] {
    try {
      held[0] = dsql::connect(ep.config());
      return true;
    } catch (const connection_error&) {
      return false;
    }
  }));
  EXPECT_EQ(scalar(held[0], "SELECT 2"), "2");
  // And the cap holds again.
  const raw_connect_result again = raw_connect(ep.libpq_params());
  EXPECT_FALSE(again.ok);
  EXPECT_NE(again.error.find(fatal_text("53300", too_many)), std::string::npos) << again.error;
}

TEST(ConnectionQuotas, ConnectionsBeyondTheBurstAreRefusedForRate) {
  // A burst of two, refilled at one connection per 100 s: the third is refused however slow
  // this machine is.
  local_endpoint ep(with_args({"--connection-rate", "0.01", "--connection-burst", "2"}));
  connection first = dsql::connect(ep.config());
  const raw_connect_result second = raw_connect(ep.libpq_params());
  EXPECT_TRUE(second.ok) << second.error;

  const raw_connect_result third = raw_connect(ep.libpq_params());
  EXPECT_FALSE(third.ok);
  EXPECT_NE(third.error.find(fatal_text("53400", rate_exceeded)), std::string::npos) << third.error;

  const std::string refusal = connector_refusal(ep);
  EXPECT_NE(refusal.find("rate exceeded"), std::string::npos) << refusal;
  EXPECT_EQ(refusal.find("auth_error"), std::string::npos) << refusal;
  // The admitted ones are not affected.
  EXPECT_EQ(scalar(first, "SELECT 1"), "1");
}

TEST(ConnectionQuotas, AStormIsMeteredAndTheEndpointAcceptsAgainAfterAWait) {
  local_endpoint ep(with_args({"--connection-rate", "5", "--connection-burst", "5"}));
  constexpr int storm = 40;
  std::vector<raw_connect_result> results(storm);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < storm; ++i) {
    // Tokens are signed before the storm, so that the connects start together.
    threads.emplace_back([&, i, params = ep.libpq_params()] {
      while (!go.load()) std::this_thread::yield();
      results[static_cast<std::size_t>(i)] = raw_connect(params);
    });
  }
  go = true;
  for (auto& t : threads) t.join();

  int admitted = 0, metered = 0;
  for (const auto& r : results) {
    if (r.ok) {
      ++admitted;
    } else if (r.error.find(fatal_text("53400", rate_exceeded)) != std::string::npos) {
      ++metered;
    } else {
      ADD_FAILURE() << "neither admitted nor refused for rate: " << r.error;
    }
  }
  // At least the burst gets in; admitting all 40 would take the storm over 7 s.
  EXPECT_GE(admitted, 5) << metered << " refused for rate";
  EXPECT_GE(metered, 1) << admitted << " admitted";
  EXPECT_EQ(admitted + metered, storm);

  // The bucket refills: new connections are admitted again.
  EXPECT_TRUE(eventually([&] { return connects(ep); }, std::chrono::seconds(30),
                         std::chrono::milliseconds(300)));
}

}  // namespace
}  // namespace dsql::test
