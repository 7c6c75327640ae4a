#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "dsql/log.hpp"
#include "dsql/pqxx.hpp"
#include "local_endpoint.hpp"
#include "support/fast_retry.hpp"

namespace dsql {
namespace {

using std::chrono::milliseconds;

using test::fast_retry;

class PqxxIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = pqxx_connect(ep.config());
    pqxx::nontransaction n(*c);
    n.exec("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)");
    n.exec("INSERT INTO counter VALUES (1, 0)");
  }
  test::local_endpoint ep;
};

TEST_F(PqxxIntegration, ConnectsAndRunsAWork) {
  auto c = pqxx_connect(ep.config());
  ASSERT_TRUE(c->is_open());
  pqxx::work w(*c);
  EXPECT_EQ(w.exec("SELECT current_user").at(0).at(0).as<std::string>(), "admin");
  EXPECT_EQ(w.exec("SHOW transaction_isolation").at(0).at(0).as<std::string>(), "repeatable read");
  w.commit();
}

TEST_F(PqxxIntegration, RefusedLoginIsAnAuthErrorWithADiagnosis) {
  config cfg = ep.config();
  cfg.region = "eu-west-3";  // the endpoint is us-east-1: the server refuses the token
  try {
    pqxx_connect(cfg);
    FAIL() << "login with a token for the wrong region was accepted";
  } catch (const auth_error& e) {
    EXPECT_EQ(e.server_message(), "unable to accept connection, access denied");
    EXPECT_NE(e.diagnosis().find("eu-west-3"), std::string::npos) << e.diagnosis();
    EXPECT_EQ(std::string(e.what()).find(ep.secret_access_key()), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("X-Amz-Signature"), std::string::npos);
  }
}

// Connects through libpqxx are logged as dsql::connect's are.
TEST_F(PqxxIntegration, ConnectsAreLoggedLikeTheCoresOwn) {
  std::mutex m;
  std::vector<std::string> names;
  set_log_handler(
      [&](const log_event& e) {
        std::lock_guard<std::mutex> lock(m);
        names.push_back(e.name);
      },
      log_level::debug);
  { auto c = pqxx_connect(ep.config()); }
  config wrong = ep.config();
  wrong.region = "eu-west-3";  // the endpoint is us-east-1: the login is refused
  EXPECT_THROW(pqxx_connect(wrong), auth_error);
  set_log_handler(nullptr);
  const auto count = [&](const char* name) { return std::count(names.begin(), names.end(), name); };
  EXPECT_EQ(count("connect.start"), 2);
  EXPECT_EQ(count("connect.success"), 1);
  EXPECT_EQ(count("connect.failure"), 1);
}

TEST_F(PqxxIntegration, InjectedConflictsAreRetriedOnTheCommit) {
  pqxx_pool p(ep.config());
  {
    auto l = p.acquire();
    pqxx::nontransaction(*l).exec("DSQL LOCAL FAIL NEXT COMMIT WITH OC000 TIMES 2");
  }
  std::vector<std::string> codes;
  auto ro = fast_retry();
  ro.on_retry = [&](const retry_event& e) { codes.push_back(e.code); };
  const int n = run_transaction(
      p,
      [](pqxx::work& w) {
        w.exec("UPDATE counter SET n = n + 1 WHERE id = 1");
        return w.exec("SELECT n FROM counter WHERE id = 1").at(0).at(0).as<int>();
      },
      ro);
  EXPECT_EQ(n, 1);
  EXPECT_EQ((std::vector<std::string>{"OC000", "OC000"}), codes);
}

TEST_F(PqxxIntegration, PersistentConflictEndsInATypedError) {
  connector source(ep.config());
  {
    auto c = pqxx_connect(source);
    pqxx::nontransaction(*c).exec("DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 TIMES 10");
  }
  try {
    run_transaction(
        source, [](pqxx::work& w) { w.exec("UPDATE counter SET n = 5 WHERE id = 1"); },
        fast_retry(2));
    FAIL() << "expected occ_conflict_error";
  } catch (const occ_conflict_error& e) {
    EXPECT_EQ(e.attempts(), 2);
    EXPECT_EQ(e.code(), "OC001");
  }
}

TEST_F(PqxxIntegration, ConcurrentIncrementsThroughThePool) {
  pool_options po;
  po.max_size = 3;
  pqxx_pool p(ep.config(), po, [](pqxx::connection& c) {
    pqxx::nontransaction(c).exec("SET search_path = public");
  });
  std::vector<std::thread> workers;
  std::atomic<int> errors{0};
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        try {
          run_transaction(
              p,
              [](pqxx::work& w) {
                const int n = w.exec("SELECT n FROM counter WHERE id = 1").at(0).at(0).as<int>();
                w.exec("UPDATE counter SET n = " + std::to_string(n + 1) + " WHERE id = 1");
              },
              fast_retry(200));
        } catch (const std::exception& e) {
          ++errors;
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(errors.load(), 0);
  auto l = p.acquire();
  pqxx::work w(*l);
  EXPECT_EQ(w.exec("SELECT n FROM counter WHERE id = 1").at(0).at(0).as<int>(), 30);
  EXPECT_LE(p.stats().created, 3u);
}

}  // namespace
}  // namespace dsql
