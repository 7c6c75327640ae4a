#include "dsql/retry.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dsql {
namespace {

using std::chrono::milliseconds;

sql_error conflict(const std::string& code) {
  const std::string message = "change conflicts with another transaction (" + code + ")";
  return sql_error("40001: " + message, {"40001", message});
}

TEST(Backoff, DoublesFromInitialUpToTheCap) {
  retry_options o;
  o.jitter = 0.0;
  EXPECT_EQ(backoff_delay(o, 1, 0.5), milliseconds(100));
  EXPECT_EQ(backoff_delay(o, 2, 0.5), milliseconds(200));
  EXPECT_EQ(backoff_delay(o, 3, 0.5), milliseconds(400));
  EXPECT_EQ(backoff_delay(o, 6, 0.5), milliseconds(3200));
  EXPECT_EQ(backoff_delay(o, 7, 0.5), milliseconds(5000));
  EXPECT_EQ(backoff_delay(o, 1000, 0.5), milliseconds(5000));
}

TEST(Backoff, JitterAddsUpToItsShare) {
  retry_options o;  // jitter 0.25
  EXPECT_EQ(backoff_delay(o, 1, 0.0), milliseconds(100));
  EXPECT_EQ(backoff_delay(o, 1, 0.5), milliseconds(112));
  EXPECT_EQ(backoff_delay(o, 1, 0.999), milliseconds(124));
  EXPECT_EQ(backoff_delay(o, 20, 0.999), milliseconds(6248));  // the cap is before jitter
  o.multiplier = 3.0;
  EXPECT_EQ(backoff_delay(o, 3, 0.0), milliseconds(900));
}

TEST(RetryOptions, DefaultsAreFourAttemptsAndTheSlowFamily) {
  const retry_options o;
  EXPECT_EQ(o.max_attempts, 4);
  EXPECT_EQ(o.initial_backoff, milliseconds(100));
  EXPECT_EQ(o.max_backoff, milliseconds(5000));
  EXPECT_DOUBLE_EQ(o.multiplier, 2.0);
  EXPECT_NO_THROW(validate(o));
}

TEST(RetryOptions, RejectsWhatCannotWork) {
  const auto bad = [](auto change) {
    retry_options o;
    change(o);
    EXPECT_THROW(validate(o), config_error);
    EXPECT_THROW(detail::retry_loop{o}, config_error);
  };
  bad([](retry_options& o) { o.max_attempts = 0; });
  bad([](retry_options& o) { o.max_attempts = -3; });
  bad([](retry_options& o) { o.initial_backoff = milliseconds(-1); });
  bad([](retry_options& o) { o.max_backoff = milliseconds(10); });
  bad([](retry_options& o) { o.multiplier = 0.5; });
  bad([](retry_options& o) { o.jitter = 1.5; });
  bad([](retry_options& o) { o.jitter = -0.1; });
  bad([](retry_options& o) { o.time_budget = milliseconds(-1); });
}

TEST(Classify, DsqlMarkersInA40001) {
  auto data = classify_occ(conflict("OC000"));
  ASSERT_TRUE(data);
  EXPECT_EQ(data->kind, occ_kind::data);
  EXPECT_EQ(data->code, "OC000");
  EXPECT_EQ(data->sqlstate, "40001");
  auto schema = classify_occ("40001", "schema has been updated by another transaction (OC001)");
  ASSERT_TRUE(schema);
  EXPECT_EQ(schema->kind, occ_kind::schema);
  EXPECT_EQ(schema->code, "OC001");
  // The documented wording, which differs from the observed one.
  EXPECT_TRUE(classify_occ("40001",
                           "mutation conflicts with another transaction, retry as "
                           "needed (OC000)"));
}

TEST(Classify, OcCodesAsTheSqlstate) {
  auto info = classify_occ("OC001", "whatever the text");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kind, occ_kind::schema);
  EXPECT_EQ(classify_occ("OC000", "")->kind, occ_kind::data);
}

TEST(Classify, Plain40001IsASerializationFailureUnlessExcluded) {
  const sql_error pg("40001: could not serialize access due to concurrent update",
                     {"40001", "could not serialize access due to concurrent update"});
  auto info = classify_occ(pg);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kind, occ_kind::serialization);
  EXPECT_TRUE(info->code.empty());
  EXPECT_TRUE(is_occ_conflict(pg));
  EXPECT_FALSE(classify_occ(pg, false));
  EXPECT_TRUE(classify_occ(conflict("OC000"), false));
}

TEST(Classify, OtherErrorsAreNotConflicts) {
  EXPECT_FALSE(is_occ_conflict(sql_error("23505: duplicate key", {"23505", "duplicate key"})));
  EXPECT_FALSE(is_occ_conflict(sql_error("0A000: nope", {"0A000", "SAVEPOINT (OC000)"})));
  EXPECT_FALSE(is_occ_conflict(connection_error("connection lost")));
  // Text alone is not enough: without a SQLSTATE we cannot tell a conflict from a quote of one.
  EXPECT_FALSE(is_occ_conflict(std::runtime_error("40001 (OC000)")));
}

TEST(Classify, WalksNestedExceptions) {
  std::exception_ptr wrapped;
  try {
    try {
      try {
        throw conflict("OC001");
      } catch (...) {
        std::throw_with_nested(std::runtime_error("repository: save failed"));
      }
    } catch (...) {
      std::throw_with_nested(std::logic_error("service: order failed"));
    }
  } catch (...) {
    wrapped = std::current_exception();
  }
  try {
    std::rethrow_exception(wrapped);
  } catch (const std::exception& e) {
    auto info = classify_occ(e);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->code, "OC001");
    EXPECT_TRUE(is_occ_conflict(e));
  }
}

TEST(Classify, NestedNonConflictStaysNonConflict) {
  try {
    try {
      throw sql_error("23505: dup", {"23505", "dup"});
    } catch (...) {
      std::throw_with_nested(std::runtime_error("wrapper"));
    }
  } catch (const std::exception& e) {
    EXPECT_FALSE(is_occ_conflict(e));
  }
}

// Drives the loop the way run_transaction does.
template <class Fn>
int run(const retry_options& o, Fn fn) {
  detail::retry_loop loop(o);
  for (;;) {
    try {
      fn(loop.attempt());
      return loop.attempt();
    } catch (...) {
      loop.failed();
    }
  }
}

retry_options fast() {
  retry_options o;
  o.initial_backoff = milliseconds(1);
  o.max_backoff = milliseconds(2);
  return o;
}

TEST(RetryLoop, RetriesConflictsAndReportsEachRetry) {
  auto o = fast();
  std::vector<retry_event> events;
  o.on_retry = [&](const retry_event& e) { events.push_back(e); };
  const int attempts = run(o, [](int attempt) {
    if (attempt == 1) throw conflict("OC000");
    if (attempt == 2) throw conflict("OC001");
  });
  EXPECT_EQ(attempts, 3);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].attempt, 1);
  EXPECT_EQ(events[0].code, "OC000");
  EXPECT_EQ(events[0].sqlstate, "40001");
  EXPECT_NE(events[0].message.find("change conflicts"), std::string::npos);
  EXPECT_GE(events[0].delay, milliseconds(1));
  EXPECT_EQ(events[1].attempt, 2);
  EXPECT_EQ(events[1].code, "OC001");
}

TEST(RetryLoop, GivesUpAfterMaxAttemptsWithATypedError) {
  auto o = fast();
  int calls = 0;
  try {
    run(o, [&](int) {
      ++calls;
      throw conflict("OC000");
    });
    FAIL() << "expected occ_conflict_error";
  } catch (const occ_conflict_error& e) {
    EXPECT_EQ(e.attempts(), 4);
    EXPECT_EQ(e.code(), "OC000");
    EXPECT_EQ(e.sqlstate(), "40001");
    EXPECT_NE(e.server_message().find("(OC000)"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("4 attempts"), std::string::npos);
  }
  EXPECT_EQ(calls, 4);
}

TEST(RetryLoop, OneAttemptMeansNoRetry) {
  auto o = fast();
  o.max_attempts = 1;
  int calls = 0;
  EXPECT_THROW(run(o,
                   [&](int) {
                     ++calls;
                     throw conflict("OC000");
                   }),
               occ_conflict_error);
  EXPECT_EQ(calls, 1);
}

TEST(RetryLoop, OtherErrorsSurfaceAtOnceUnchanged) {
  auto o = fast();
  int calls = 0, retries = 0;
  o.on_retry = [&](const retry_event&) { ++retries; };
  try {
    run(o, [&](int) {
      ++calls;
      throw sql_error("23505: duplicate key", {"23505", "duplicate key"});
    });
    FAIL() << "expected sql_error";
  } catch (const occ_conflict_error&) {
    FAIL() << "not a conflict";
  } catch (const sql_error& e) {
    EXPECT_EQ(e.sqlstate(), "23505");
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(retries, 0);
  EXPECT_THROW(run(o, [](int) { throw std::out_of_range("x"); }), std::out_of_range);
}

rate_limited_error rate_refusal() {
  return rate_limited_error("connection refused for rate (SQLSTATE 53400): rate exceeded",
                            {"53400", "Unable to accept connection, rate exceeded."});
}

TEST(RetryLoop, RetriesConnectsRefusedForRate) {
  auto o = fast();
  std::vector<retry_event> events;
  o.on_retry = [&](const retry_event& e) { events.push_back(e); };
  const int attempts = run(o, [](int attempt) {
    if (attempt < 3) throw rate_refusal();
  });
  EXPECT_EQ(attempts, 3);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].sqlstate, "53400");
  EXPECT_TRUE(events[0].code.empty());
  EXPECT_NE(events[0].message.find("rate exceeded"), std::string::npos);
}

TEST(RetryLoop, RateRefusalSurfacesAsItselfWhenAttemptsRunOut) {
  auto o = fast();
  int calls = 0;
  try {
    run(o, [&](int) {
      ++calls;
      throw rate_refusal();
    });
    FAIL() << "expected rate_limited_error";
  } catch (const occ_conflict_error&) {
    FAIL() << "a rate refusal is not a conflict";
  } catch (const rate_limited_error& e) {
    EXPECT_EQ(e.sqlstate(), "53400");
  }
  EXPECT_EQ(calls, o.max_attempts);
  // Capacity exhausted is not retried.
  calls = 0;
  EXPECT_THROW(run(o,
                   [&](int) {
                     ++calls;
                     throw too_many_connections_error("53300", {"53300", "too many"});
                   }),
               too_many_connections_error);
  EXPECT_EQ(calls, 1);
}

TEST(RetryLoop, TimeBudgetStopsRetriesThatWouldOverrun) {
  retry_options o;
  o.initial_backoff = milliseconds(10000);
  o.max_backoff = milliseconds(10000);
  o.time_budget = milliseconds(50);
  int calls = 0;
  try {
    run(o, [&](int) {
      ++calls;
      throw conflict("OC001");
    });
    FAIL() << "expected occ_conflict_error";
  } catch (const occ_conflict_error& e) {
    EXPECT_EQ(e.attempts(), 1);
    EXPECT_NE(std::string(e.what()).find("time budget"), std::string::npos);
  }
  EXPECT_EQ(calls, 1);
}

TEST(RetryLoop, PlainSerializationFailureCanBeExcluded) {
  auto o = fast();
  o.retry_plain_serialization_failure = false;
  const sql_error pg("40001: could not serialize", {"40001", "could not serialize"});
  int calls = 0;
  EXPECT_THROW(run(o,
                   [&](int) {
                     ++calls;
                     throw pg;
                   }),
               sql_error);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace dsql
