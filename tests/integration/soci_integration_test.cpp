// dsql::soci against `dsql local`: sessions, type_conversion, OCC retry, the pool, sessions
// that outlive their token, and errors.

#include <gtest/gtest.h>

#include <soci/postgresql/soci-postgresql.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dsql/log.hpp"
#include "dsql/soci.hpp"
#include "local_endpoint.hpp"
#include "support/fast_retry.hpp"

namespace {

struct pet {
  std::string id;
  std::string name;
  int age = 0;
};

}  // namespace

namespace soci {
template <>
struct type_conversion<pet> {
  typedef values base_type;
  static void from_base(const values& v, indicator, pet& p) {
    p.id = v.get<std::string>("id");
    p.name = v.get<std::string>("name");
    p.age = v.get<int>("age");
  }
  static void to_base(const pet& p, values& v, indicator& ind) {
    v.set("id", p.id);
    v.set("name", p.name);
    v.set("age", p.age);
    ind = i_ok;
  }
};
}  // namespace soci

namespace dsql {
namespace {

using std::chrono::milliseconds;
using test::fast_retry;

int counter_value(::soci::session& s) {
  int n = -1;
  s << "SELECT n FROM counter WHERE id = 1", ::soci::into(n);
  return n;
}

class SociIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    soci_session s = soci_connect(ep.config());
    // DSQL: each DDL in its own transaction, DML apart from it (autocommit here).
    *s << "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)";
    *s << "CREATE TABLE pet (id uuid PRIMARY KEY, name text NOT NULL, age int NOT NULL)";
    *s << "INSERT INTO counter VALUES (1, 0)";
  }
  test::local_endpoint ep;
};

TEST_F(SociIntegration, ConnectsAndQueries) {
  soci_session s = soci_connect(ep.config());
  ASSERT_TRUE(s);
  std::string user, isolation, ssl;
  *s << "SELECT current_user", ::soci::into(user);
  *s << "SHOW transaction_isolation", ::soci::into(isolation);
  EXPECT_EQ(user, "admin");
  EXPECT_EQ(isolation, "repeatable read");
  EXPECT_EQ(s->get_backend_name(), "postgresql");
  soci_session moved = std::move(s);
  EXPECT_FALSE(s);
  EXPECT_THROW(s.get(), lease_error);
  EXPECT_EQ(counter_value(*moved), 0);
}

// Connects through SOCI are logged as dsql::connect's are.
TEST_F(SociIntegration, ConnectsAreLoggedLikeTheCoresOwn) {
  std::mutex m;
  std::vector<std::string> names;
  set_log_handler(
      [&](const log_event& e) {
        std::lock_guard<std::mutex> lock(m);
        names.push_back(e.name);
      },
      log_level::debug);
  { auto c = soci_connect(ep.config()); }
  config wrong = ep.config();
  wrong.region = "eu-west-3";  // the endpoint is us-east-1: the login is refused
  EXPECT_THROW(soci_connect(wrong), auth_error);
  set_log_handler(nullptr);
  const auto count = [&](const char* name) { return std::count(names.begin(), names.end(), name); };
  EXPECT_EQ(count("connect.start"), 2);
  EXPECT_EQ(count("connect.success"), 1);
  EXPECT_EQ(count("connect.failure"), 1);
}

TEST_F(SociIntegration, UseAndIntoWithTypeConversion) {
  soci_pool p(ep.config());
  const pet rex{"6f1c1b84-3c38-4c2e-9b4a-0a0b7c0d5e01", "Rex", 4};
  run_transaction(p, [&](::soci::session& s) {
    s << "INSERT INTO pet (id, name, age) VALUES (:id, :name, :age)", ::soci::use(rex);
  });
  auto l = p.acquire();
  pet back;
  *l << "SELECT id::text AS id, name, age FROM pet WHERE id = :id", ::soci::use(rex.id),
      ::soci::into(back);
  EXPECT_EQ(back.id, rex.id);
  EXPECT_EQ(back.name, "Rex");
  EXPECT_EQ(back.age, 4);
  // A rowset of the mapped type, too.
  *l << "INSERT INTO pet VALUES ('6f1c1b84-3c38-4c2e-9b4a-0a0b7c0d5e02', 'Tom', 7)";
  std::vector<std::string> names;
  ::soci::rowset<pet> rows =
      (l->prepare << "SELECT id::text AS id, name, age FROM pet ORDER BY age");
  for (const pet& row : rows) names.push_back(row.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Rex", "Tom"}));
}

// Two sessions update the same row: the first, left idle, loses at its COMMIT with OC000 and
// its whole transaction runs again on a fresh lease.
TEST_F(SociIntegration, ConflictBetweenTwoSessionsIsRetried) {
  config cfg = ep.config();
  std::vector<std::string> notices;
  cfg.on_notice = [&](const notice& n) { notices.push_back(n.severity + ": " + n.message); };
  soci_pool p(cfg);
  soci_session other = soci_connect(ep.config());
  std::vector<std::string> codes;
  auto ro = fast_retry();
  ro.on_retry = [&](const retry_event& e) { codes.push_back(e.code); };
  int attempts = 0;
  const int seen = run_transaction(
      p,
      [&](::soci::session& s) {
        ++attempts;
        s << "UPDATE counter SET n = n + 1 WHERE id = 1";
        if (attempts == 1) {
          ::soci::transaction rival(*other);
          *other << "UPDATE counter SET n = n + 10 WHERE id = 1";
          rival.commit();
        }
        return counter_value(s);
      },
      ro);
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(codes, (std::vector<std::string>{"OC000"}));
  EXPECT_EQ(seen, 11);
  EXPECT_EQ(counter_value(*other), 11);
  for (const auto& n : notices) ADD_FAILURE() << n;
}

TEST_F(SociIntegration, InjectedCommitConflictsAreRetried) {
  soci_pool p(ep.config());
  *p.acquire() << "DSQL LOCAL FAIL NEXT COMMIT WITH OC000 TIMES 2";
  std::vector<std::string> codes;
  auto ro = fast_retry();
  ro.on_retry = [&](const retry_event& e) { codes.push_back(e.code); };
  run_transaction(
      p, [](::soci::session& s) { s << "UPDATE counter SET n = n + 1 WHERE id = 1"; }, ro);
  EXPECT_EQ(codes, (std::vector<std::string>{"OC000", "OC000"}));
  EXPECT_EQ(counter_value(*p.acquire()), 1);
}

// A failed COMMIT, not a failed statement: SOCI 4.0 runs a statement of its own on every new
// session, and when that fails its backend's constructor throws without closing the
// connection (a leak inside SOCI that AddressSanitizer reports).
TEST_F(SociIntegration, PersistentConflictEndsInATypedError) {
  auto source = std::make_shared<connector>(ep.config());
  *soci_connect(source) << "DSQL LOCAL FAIL NEXT COMMIT WITH OC000 TIMES 10";
  try {
    run_transaction(
        source, [](::soci::session& s) { s << "UPDATE counter SET n = 5 WHERE id = 1"; },
        fast_retry(3));
    FAIL() << "expected occ_conflict_error";
  } catch (const occ_conflict_error& e) {
    EXPECT_EQ(e.attempts(), 3);
    EXPECT_EQ(e.code(), "OC000");
  }
}

TEST_F(SociIntegration, ClassifiesSociErrors) {
  soci_session s = soci_connect(ep.config());
  *s << "DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 TIMES 1";
  try {
    *s << "SELECT 1";
    FAIL() << "the injected conflict did not arrive";
  } catch (const ::soci::postgresql_soci_error& e) {
    EXPECT_EQ(e.sqlstate(), "40001");
    const auto info = classify_soci_occ(e);
    ASSERT_TRUE(info.has_value()) << e.what();
    EXPECT_EQ(info->code, "OC001");
    EXPECT_EQ(info->kind, occ_kind::schema);
    EXPECT_TRUE(is_soci_occ_conflict(e));
  }
  try {
    *s << "SELEC 1";
    FAIL() << "a syntax error was accepted";
  } catch (const ::soci::postgresql_soci_error& e) {
    EXPECT_EQ(e.sqlstate(), "42601");
    EXPECT_FALSE(is_soci_occ_conflict(e));
  }
}

TEST_F(SociIntegration, PoolReusesSessionsAndRollsBackLeftovers) {
  pool_options po;
  po.max_size = 2;
  int hooked = 0;
  soci_pool p(ep.config(), po, [&](::soci::session& s) {
    ++hooked;
    s << "SET search_path = public";
  });
  ::soci::session* first = nullptr;
  {
    auto l = p.acquire();
    first = &*l;
    l->begin();  // left open: the pool must roll it back
    *l << "UPDATE counter SET n = 99 WHERE id = 1";
  }
  {
    auto l = p.acquire();
    EXPECT_EQ(&*l, first);
    EXPECT_EQ(counter_value(*l), 0);
  }
  EXPECT_EQ(p.stats().created, 1u);
  EXPECT_EQ(hooked, 1);
  EXPECT_EQ(p.stats().acquires, 2u);
}

// Tokens are checked only at login: a session keeps working past its token's expiry, and
// SOCI's reconnect (which replays its connection string) signs a fresh one instead of
// presenting the expired token.
TEST_F(SociIntegration, SessionOutlivesItsToken) {
  config cfg = ep.config();
  cfg.token_duration = std::chrono::seconds(1);
  pool_options po;
  po.max_size = 1;
  soci_pool p(cfg, po);
  auto l = p.acquire();
  EXPECT_EQ(counter_value(*l), 0);
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_EQ(counter_value(*l), 0);
  l->reconnect();
  EXPECT_EQ(counter_value(*l), 0);
  l.release();
  // The same for a session of its own.
  soci_session s = soci_connect(cfg);
  std::this_thread::sleep_for(milliseconds(2500));
  s->reconnect();
  EXPECT_EQ(counter_value(*s), 0);
}

TEST_F(SociIntegration, PoolRetiresAndReopensWithFreshTokens) {
  config cfg = ep.config();
  cfg.token_duration = std::chrono::seconds(2);
  pool_options po;
  po.max_size = 2;
  po.max_lifetime = milliseconds(300);  // every reopen needs a token that is still valid
  soci_pool p(cfg, po);
  for (int i = 0; i < 40 && (i < 10 || p.stats().created < 5); ++i) {
    EXPECT_EQ(run_transaction(p, [](::soci::session& s) { return counter_value(s); }), 0);
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_GE(p.stats().created, 5u);
  EXPECT_EQ(p.stats().failed_connects, 0u);
}

// The server closes every connection after a second (DSQL does after 60 minutes): the pool's
// checks notice the closed sessions and open new ones, each with a token of its own.
TEST(SociEndpoint, KeepsWorkingUnderTheEndpointsAgeCap) {
  test::local_endpoint::options eo;
  eo.extra_args = {"--max-connection-age", "1"};
  test::local_endpoint ep(eo);
  pool_options po;
  po.max_size = 2;
  soci_pool p(ep.config(), po);
  int done = 0;
  for (int i = 0; i < 60 && (done < 10 || p.stats().created < 3); ++i) {
    EXPECT_EQ(run_transaction(p,
                              [](::soci::session& s) {
                                int one = 0;
                                s << "SELECT 1", ::soci::into(one);
                                return one;
                              }),
              1);
    ++done;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_GE(p.stats().created, 3u);
}

TEST_F(SociIntegration, BadInputGivesClearErrors) {
  config cfg = ep.config();
  cfg.region = "eu-west-3";  // the endpoint is us-east-1: the server refuses the token
  try {
    soci_connect(cfg);
    FAIL() << "login with a token for the wrong region was accepted";
  } catch (const auth_error& e) {
    EXPECT_NE(e.diagnosis().find("eu-west-3"), std::string::npos) << e.diagnosis();
    EXPECT_EQ(std::string(e.what()).find(ep.secret_access_key()), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("X-Amz-Signature"), std::string::npos);
  }
  config empty;
  EXPECT_THROW(soci_connect(empty), config_error);
  EXPECT_THROW(soci_connect(std::shared_ptr<connector>()), config_error);
  pool_options with_libpq_hook;
  with_libpq_hook.after_connect = [](connection&) {};
  EXPECT_THROW(soci_pool(ep.config(), with_libpq_hook), config_error);
  // DSQL's rules reach the caller at once, without a retry: no DDL beside DML.
  soci_pool p(ep.config());
  int attempts = 0;
  try {
    run_transaction(p, [&](::soci::session& s) {
      ++attempts;
      s << "UPDATE counter SET n = 1 WHERE id = 1";
      s << "CREATE TABLE t2 (id int PRIMARY KEY)";
    });
    FAIL() << "DDL beside DML was accepted";
  } catch (const ::soci::postgresql_soci_error& e) {
    EXPECT_EQ(attempts, 1);
    EXPECT_FALSE(e.sqlstate().empty());
  }
  EXPECT_EQ(counter_value(*p.acquire()), 0);
}

}  // namespace
}  // namespace dsql
