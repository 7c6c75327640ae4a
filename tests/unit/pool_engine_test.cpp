// The pool engine's policy, on a fake clock: no connection, no thread, no I/O.
#include "pool_engine.hpp"
#include "pool_endpoints.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

namespace dsql::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using kind = pool_engine::step::kind_t;

struct fake_slot : pooled_slot {
  int id = 0;
};

const steady::time_point t0 = steady::time_point() + std::chrono::hours(1000);

pool_options quiet_options() {
  pool_options o;
  o.max_lifetime_jitter = 0.0;
  return o;
}

// Opens `n` new connections at `at` (connect steps first, so that none reuses another) and
// gives them all back at the same time.
void open_idle(pool_engine& e, steady::time_point at, std::size_t n = 1) {
  doomed_slots doomed;
  std::vector<std::size_t> endpoints;
  for (std::size_t i = 0; i < n; ++i) {
    auto s = e.next(at, doomed);
    ASSERT_EQ(s.kind, kind::connect);
    endpoints.push_back(s.endpoint);
  }
  for (std::size_t endpoint : endpoints) {
    auto held = e.connected(std::make_unique<fake_slot>(), endpoint, at, doomed);
    ASSERT_TRUE(held);
    ASSERT_TRUE(e.give_back(std::move(held), true, at, doomed));
  }
}

std::exception_ptr failure(const char* what) {
  return std::make_exception_ptr(connection_error(what));
}

TEST(PoolEngine, ChecksAnIdleConnectionByHowLongItWasIdle) {
  pool_engine e(quiet_options(), 1);
  open_idle(e, t0);
  doomed_slots doomed;
  const std::pair<milliseconds, check_level> cases[] = {
      {milliseconds(0), check_level::none},
      {milliseconds(1), check_level::socket},
      {seconds(29), check_level::socket},
      {seconds(30), check_level::query},
  };
  auto at = t0;
  for (const auto& [idle_for, expected] : cases) {
    auto s = e.next(at + idle_for, doomed);
    ASSERT_EQ(s.kind, kind::use);
    EXPECT_EQ(s.check, expected) << idle_for.count();
    EXPECT_EQ(e.in_use(), 1u);
    at += idle_for;
    ASSERT_TRUE(e.give_back(std::move(s.slot), true, at, doomed));
  }
  EXPECT_TRUE(doomed.empty());
  EXPECT_EQ(e.stats().created, 1u);
}

TEST(PoolEngine, HandsOutTheConnectionReturnedLast) {
  pool_engine e(quiet_options(), 1);
  doomed_slots doomed;
  auto a = e.next(t0, doomed), b = e.next(t0, doomed);
  ASSERT_EQ(a.kind, kind::connect);
  ASSERT_EQ(b.kind, kind::connect);
  auto first = std::make_unique<fake_slot>(), second = std::make_unique<fake_slot>();
  first->id = 1;
  second->id = 2;
  auto h1 = e.connected(std::move(first), 0, t0, doomed);
  auto h2 = e.connected(std::move(second), 0, t0, doomed);
  e.give_back(std::move(h2), true, t0, doomed);
  e.give_back(std::move(h1), true, t0, doomed);
  auto s = e.next(t0, doomed);
  EXPECT_EQ(static_cast<fake_slot&>(*s.slot).id, 1);
}

TEST(PoolEngine, LifetimeJitterStaysWithinItsShareAndSpreads) {
  pool_options o;
  o.max_lifetime = std::chrono::minutes(55);
  o.max_lifetime_jitter = 0.1;
  o.max_size = 1;
  pool_engine e(o, 1, 42);
  std::set<steady::time_point> seen;
  doomed_slots doomed;
  for (int i = 0; i < 200; ++i) {
    auto s = e.next(t0, doomed);
    ASSERT_EQ(s.kind, kind::connect);
    auto held = e.connected(std::make_unique<fake_slot>(), 0, t0, doomed);
    EXPECT_LE(held->expires, t0 + o.max_lifetime);
    EXPECT_GE(held->expires, t0 + o.max_lifetime - o.max_lifetime / 10);
    seen.insert(held->expires);
    e.give_back(std::move(held), false, t0, doomed);
  }
  EXPECT_GT(seen.size(), 150u);  // 200 draws from a continuous range: nearly all distinct
  pool_engine exact(quiet_options(), 1);
  auto s = exact.next(t0, doomed);
  auto held = exact.connected(std::make_unique<fake_slot>(), 0, t0, doomed);
  EXPECT_EQ(held->expires, t0 + pool_options{}.max_lifetime);
}

TEST(PoolEngine, RetiresExpiredConnectionsInsteadOfHandingThemOut) {
  pool_options o = quiet_options();
  o.max_lifetime = seconds(10);
  pool_engine e(o, 1);
  open_idle(e, t0);
  doomed_slots doomed;
  auto s = e.next(t0 + seconds(10), doomed);
  EXPECT_EQ(s.kind, kind::connect);
  EXPECT_EQ(doomed.size(), 1u);
  EXPECT_EQ(e.stats().retired, 1u);
  // One that expires while leased is retired when it comes back.
  auto held = e.connected(std::make_unique<fake_slot>(), 0, t0 + seconds(10), doomed);
  EXPECT_FALSE(e.give_back(std::move(held), true, t0 + seconds(21), doomed));
  EXPECT_EQ(e.stats().retired, 2u);
  EXPECT_EQ(e.stats().open, 0u);
}

TEST(PoolEngine, IdleTimeoutRetiresOnlyAboveMinSize) {
  pool_options o = quiet_options();
  o.min_size = 1;
  o.idle_timeout = seconds(60);
  pool_engine e(o, 1);
  open_idle(e, t0, 2);
  doomed_slots doomed;
  EXPECT_FALSE(e.upkeep(t0 + seconds(59), doomed));
  EXPECT_TRUE(doomed.empty());
  EXPECT_FALSE(e.upkeep(t0 + seconds(60), doomed));
  EXPECT_EQ(doomed.size(), 1u);
  EXPECT_EQ(e.stats().idle, 1u);
  EXPECT_FALSE(e.upkeep(t0 + seconds(600), doomed));
  EXPECT_EQ(e.stats().idle, 1u);  // min_size is kept however long it idles
}

TEST(PoolEngine, UpkeepRefillsToMinSizeWithinTheConnectBound) {
  pool_options o = quiet_options();
  o.min_size = 3;
  o.max_concurrent_connects = 2;
  pool_engine e(o, 1);
  doomed_slots doomed;
  EXPECT_TRUE(e.upkeep(t0, doomed));
  EXPECT_TRUE(e.upkeep(t0, doomed));
  EXPECT_FALSE(e.upkeep(t0, doomed));  // two in flight already
  EXPECT_EQ(e.connecting(), 2u);
  auto held = e.connected(std::make_unique<fake_slot>(), 0, t0, doomed);
  e.give_back(std::move(held), true, t0, doomed);
  EXPECT_TRUE(e.upkeep(t0, doomed));
  EXPECT_FALSE(e.upkeep(t0, doomed));  // 1 open + 2 connecting = min_size
}

TEST(PoolEngine, BoundsConnectsAndSize) {
  pool_options o = quiet_options();
  o.max_size = 3;
  o.max_concurrent_connects = 2;
  pool_engine e(o, 1);
  doomed_slots doomed;
  EXPECT_EQ(e.next(t0, doomed).kind, kind::connect);
  EXPECT_EQ(e.next(t0, doomed).kind, kind::connect);
  auto s = e.next(t0, doomed);
  EXPECT_EQ(s.kind, kind::wait);
  EXPECT_EQ(s.wake_at, steady::time_point::max());  // only a finished connect can help
  EXPECT_EQ(e.stats().connecting, 2u);
  auto a = e.connected(std::make_unique<fake_slot>(), 0, t0, doomed);
  auto b = e.connected(std::make_unique<fake_slot>(), 0, t0, doomed);
  EXPECT_EQ(e.next(t0, doomed, false).kind, kind::wait);  // the caller has enough in flight
  EXPECT_EQ(e.next(t0, doomed).kind, kind::connect);
  EXPECT_EQ(e.next(t0, doomed).kind, kind::wait);  // 2 in use + 1 connecting = max_size
}

TEST(PoolEngine, ConnectBackoffDoublesIsCappedHalfRandomAndResets) {
  pool_options o = quiet_options();
  o.connect_backoff_initial = milliseconds(100);
  o.connect_backoff_max = milliseconds(1000);
  pool_engine e(o, 1, 7);
  doomed_slots doomed;
  auto now = t0;
  for (const int base : {100, 200, 400, 800, 1000, 1000}) {
    ASSERT_EQ(e.next(now, doomed).kind, kind::connect);
    e.connect_failed(failure("refused"), now);
    auto s = e.next(now, doomed);
    ASSERT_EQ(s.kind, kind::wait);
    EXPECT_GE(s.wake_at, now + milliseconds(base / 2)) << base;
    EXPECT_LE(s.wake_at, now + milliseconds(base)) << base;
    now = s.wake_at;
  }
  EXPECT_EQ(e.stats().failed_connects, 6u);
  ASSERT_EQ(e.next(now, doomed).kind, kind::connect);
  auto held = e.connected(std::make_unique<fake_slot>(), 0, now, doomed);
  e.give_back(std::move(held), false, now, doomed);
  EXPECT_EQ(e.next(now, doomed).kind, kind::connect);  // success ended the backoff
}

TEST(PoolEngine, FailsOverAndFailsBackAfterTheGracePeriod) {
  pool_options o = quiet_options();
  o.failback_after = seconds(60);
  pool_engine e(o, 3);
  doomed_slots doomed;
  auto s = e.next(t0, doomed);
  EXPECT_EQ(s.endpoint, 0u);
  auto held = e.connected(std::make_unique<fake_slot>(), 2, t0, doomed);  // the walk ended at 2
  EXPECT_EQ(e.current_endpoint(), 2u);
  EXPECT_EQ(e.stats().endpoint_index, 2u);
  EXPECT_EQ(e.next(t0 + seconds(59), doomed).endpoint, 2u);
  EXPECT_EQ(e.next(t0 + seconds(60), doomed).endpoint, 0u);
  e.connected(std::make_unique<fake_slot>(), 0, t0 + seconds(60), doomed);
  EXPECT_EQ(e.current_endpoint(), 0u);
  EXPECT_EQ(e.next(t0 + seconds(61), doomed).endpoint, 0u);
}

TEST(PoolEngine, FailoverWalkTriesEachEndpointOnceAndNamesThem) {
  failover_walk walk(1, 3);
  EXPECT_FALSE(walk.single());
  EXPECT_EQ(walk.endpoint(), 1u);
  EXPECT_TRUE(walk.failed("b:5432", "refused"));
  EXPECT_EQ(walk.endpoint(), 2u);
  EXPECT_TRUE(walk.failed("c:5432", "timed out"));
  EXPECT_EQ(walk.endpoint(), 0u);
  EXPECT_FALSE(walk.failed("a:5432", "reset"));
  EXPECT_STREQ(walk.error().what(),
               "no endpoint accepted a connection: b:5432: refused; c:5432: timed out; "
               "a:5432: reset");
  EXPECT_TRUE(failover_walk(0, 1).single());
}

TEST(PoolEngine, DiscardCountsBrokenAndRetiredApart) {
  pool_engine e(quiet_options(), 1);
  open_idle(e, t0, 2);
  doomed_slots doomed;
  auto a = e.next(t0 + seconds(1), doomed);
  auto b = e.next(t0 + seconds(1), doomed);
  e.discard(std::move(a.slot), true, doomed);
  e.discard(std::move(b.slot), false, doomed);
  const auto st = e.stats();
  EXPECT_EQ(st.broken, 1u);
  EXPECT_EQ(st.retired, 1u);
  EXPECT_EQ(st.open, 0u);
  EXPECT_EQ(doomed.size(), 2u);
}

TEST(PoolEngine, CloseDoomsIdleAndEverythingThatComesBack) {
  pool_engine e(quiet_options(), 1);
  open_idle(e, t0);
  doomed_slots doomed;
  auto leased = e.next(t0, doomed);
  auto connecting = e.next(t0, doomed);
  ASSERT_EQ(connecting.kind, kind::connect);
  open_idle(e, t0);  // a third, idle at close
  e.close(doomed);
  e.close(doomed);  // idempotent
  EXPECT_EQ(doomed.size(), 1u);
  EXPECT_TRUE(e.closed());
  EXPECT_THROW(e.next(t0, doomed), pool_closed_error);
  EXPECT_EQ(e.connected(std::make_unique<fake_slot>(), 0, t0, doomed), nullptr);
  EXPECT_FALSE(e.give_back(std::move(leased.slot), true, t0, doomed));
  EXPECT_EQ(doomed.size(), 3u);
  const auto st = e.stats();
  EXPECT_EQ(st.open, 0u);
  EXPECT_EQ(st.connecting, 0u);
  EXPECT_EQ(st.retired, 3u);
  EXPECT_FALSE(e.upkeep(t0, doomed));
}

TEST(PoolEngine, TimeoutMessageNamesTheLastConnectFailure) {
  pool_engine e(quiet_options(), 1);
  doomed_slots doomed;
  e.count_acquire();
  e.count_wait();
  EXPECT_EQ(e.timed_out(milliseconds(250)),
            "acquire timed out after 250 ms: 0 of 10 connections in use");
  e.next(t0, doomed);
  e.connect_failed(failure("could not connect to h:5432: refused"), t0);
  EXPECT_EQ(e.timed_out(milliseconds(5)),
            "acquire timed out after 5 ms: 0 of 10 connections in use; last connect failure: "
            "could not connect to h:5432: refused");
  const auto st = e.stats();
  EXPECT_EQ(st.acquires, 1u);
  EXPECT_EQ(st.waits, 1u);
  EXPECT_EQ(st.timeouts, 2u);
  EXPECT_EQ(st.failed_connects, 1u);
}

// A refusal for rate (53400) is retried after a jittered backoff of its own, capped low, and is
// not a failure: no failover, no failure backoff, no failed_connects.
TEST(PoolEngine, RateRefusalsBackOffWithJitterUnderTheirOwnCap) {
  pool_options o = quiet_options();
  o.connect_backoff_initial = milliseconds(100);
  o.connect_backoff_max = milliseconds(5000);
  o.rate_limit_backoff_max = milliseconds(400);
  pool_engine e(o, 2, 11);
  doomed_slots doomed;
  auto now = t0;
  for (const int base : {100, 200, 400, 400, 400}) {
    auto c = e.next(now, doomed);
    ASSERT_EQ(c.kind, kind::connect);
    EXPECT_EQ(c.endpoint, 0u);  // never failed over
    const auto retry_at = e.connect_rate_limited("rate exceeded", now);
    EXPECT_GE(retry_at, now + milliseconds(base / 2)) << base;
    EXPECT_LE(retry_at, now + milliseconds(base)) << base;
    auto s = e.next(now, doomed);
    ASSERT_EQ(s.kind, kind::wait);
    EXPECT_EQ(s.wake_at, retry_at);
    EXPECT_EQ(e.connects_allowed_at(), retry_at);
    now = retry_at;
  }
  auto st = e.stats();
  EXPECT_EQ(st.rate_limited, 5u);
  EXPECT_EQ(st.failed_connects, 0u);
  EXPECT_EQ(st.connecting, 0u);
  EXPECT_EQ(e.current_endpoint(), 0u);
  EXPECT_NE(e.timed_out(milliseconds(5)).find("last connect failure: rate exceeded"),
            std::string::npos);
  // A success resets the count: the next refusal waits the initial backoff again.
  ASSERT_EQ(e.next(now, doomed).kind, kind::connect);
  auto held = e.connected(std::make_unique<fake_slot>(), 0, now, doomed);
  ASSERT_TRUE(held);
  ASSERT_EQ(e.next(now, doomed).kind, kind::connect);
  EXPECT_LE(e.connect_rate_limited("rate exceeded", now), now + milliseconds(100));
}

TEST(PoolEngine, PoolsRefusedTogetherRetryAtDifferentTimes) {
  std::set<steady::time_point::rep> retries;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    pool_engine e(quiet_options(), 1, seed);
    doomed_slots doomed;
    ASSERT_EQ(e.next(t0, doomed).kind, kind::connect);
    retries.insert(e.connect_rate_limited("rate exceeded", t0).time_since_epoch().count());
  }
  EXPECT_GE(retries.size(), 7u);
}

TEST(PoolEngine, ARateRefusalDoesNotShortenAFailureBackoff) {
  pool_options o = quiet_options();
  o.connect_backoff_initial = milliseconds(1000);
  o.rate_limit_backoff_max = milliseconds(1000);
  pool_engine e(o, 1, 3);
  doomed_slots doomed;
  ASSERT_EQ(e.next(t0, doomed).kind, kind::connect);
  ASSERT_EQ(e.next(t0, doomed).kind, kind::connect);
  e.connect_failed(failure("refused"), t0);
  const auto after_failure = e.connects_allowed_at();
  EXPECT_GE(e.connect_rate_limited("rate exceeded", t0), after_failure);
}

TEST(PoolEngine, RateLimitBackoffMaxMustBePositive) {
  pool_options o;
  o.rate_limit_backoff_max = milliseconds(0);
  EXPECT_THROW(validate(o), config_error);
}

TEST(PoolEndpoints, EachPeerIsSignedForItsOwnRegion) {
  config cfg;
  cfg.host = "abc.dsql.us-east-1.on.aws";
  cfg.region = "us-east-1";  // explicit: it holds for the first endpoint only
  cfg.credentials = std::make_shared<function_credentials_provider>("test", [] {
    return credentials{"AKIDEXAMPLE", "secret", "", {}, "test"};
  });
  pool_options o;
  o.endpoints = {"abc.dsql.us-east-1.on.aws", "def.dsql.us-east-2.on.aws:5433", "127.0.0.1"};
  const auto endpoints = make_endpoints(cfg, o);
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_EQ(endpoints[0].source->settings().target.region, "us-east-1");
  EXPECT_EQ(endpoints[1].source->settings().target.region, "us-east-2");
  EXPECT_EQ(endpoints[1].name, "def.dsql.us-east-2.on.aws:5433");
  // A name without a Region keeps the configured one.
  EXPECT_EQ(endpoints[2].source->settings().target.region, "us-east-1");
}

}  // namespace
}  // namespace dsql::detail
