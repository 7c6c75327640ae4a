// dsql::migrate against dsql local with DSQL's rules on: one DDL per transaction, DML over 3,000
// rows, async index jobs, resuming after a failure at every step, changed files, failed jobs,
// and two runs at once.

#include <gtest/gtest.h>

#include <memory>

#include "migrate_support.hpp"
#include "support/fast_retry.hpp"

namespace dsql::test {
namespace {

class Migrate : public endpoint_suite<Migrate> {
 protected:
  static void SetUpTestSuite() {
    local_endpoint::options o;
    o.extra_args = {"--index-build-delay", "100"};
    pool_options po;
    po.max_size = 4;
    start(o, po);
  }

  static migrate_options options(const std::string& name) { return migrate_test_options(name); }

  static void write_set(const scratch_dir& d, const std::string& s) { write_migration_set(d, s); }
  static void expect_applied_once(const std::string& s) { expect_set_applied_once(*pool_, s); }
};

TEST_F(Migrate, AppliesDdlDmlAndAsyncIndexesThenReappliesAsANoOp) {
  scratch_dir d;
  write_set(d, "apply");
  const migrate_result r = migrate(*pool_, d.path(), options("apply"));
  ASSERT_EQ(r.applied.size(), 2u);
  EXPECT_EQ(r.statements, 8u);
  // V1: the CREATE TABLE, two INSERT transactions (2,400 then 1,200 rows), the index.
  EXPECT_EQ(r.applied[0].transactions, 4u);
  EXPECT_EQ(r.applied[0].jobs, 1u);
  EXPECT_EQ(r.jobs, 1u);
  EXPECT_EQ(r.plan.migrations[0].statements[2].transaction, 1u);
  EXPECT_EQ(r.plan.migrations[0].statements[3].transaction, 2u);
  expect_applied_once("apply");
  EXPECT_EQ(query_value(*pool_, "SELECT checksum FROM h_apply WHERE version = '1'"),
            r.plan.migrations[0].file.checksum);

  const migrate_result again = migrate(*pool_, d.path(), options("apply"));
  EXPECT_TRUE(again.applied.empty());
  EXPECT_EQ(again.already_applied, 2u);
  EXPECT_EQ(again.statements, 0u);
  expect_applied_once("apply");
}

TEST_F(Migrate, TheConnectorOverloadAppliesToo) {
  scratch_dir d;
  d.write("V1__a.sql", "CREATE TABLE via_connector (id bigint PRIMARY KEY, v text);\n" +
                           insert_rows("via_connector", 0, 10));
  connector c(endpoint_->config());
  const migrate_result r = migrate(c, d.path(), options("connector"));
  EXPECT_EQ(r.applied.size(), 1u);
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM via_connector"), "10");
}

// The run stops (as a crash would) at each event in turn; the next run completes it, and every
// statement is applied exactly once (a second INSERT of the same keys would fail).
TEST_F(Migrate, ResumesAfterAFailureInjectedAtEveryStep) {
  std::size_t events = 0;
  {
    scratch_dir d;
    write_set(d, "count");
    migrate_options o = options("count");
    o.on_event = [&](const migrate_event&) { ++events; };
    migrate(*pool_, d.path(), o);
  }
  ASSERT_GE(events, 15u);
  for (std::size_t k = 0; k < events; ++k) {
    SCOPED_TRACE("stopped at event " + std::to_string(k));
    const std::string s = "step" + std::to_string(k);
    scratch_dir d;
    write_set(d, s);
    migrate_options o = options(s);
    std::size_t seen = 0;
    o.on_event = [&](const migrate_event&) {
      if (seen++ == k) throw std::runtime_error("injected");
    };
    EXPECT_THROW(migrate(*pool_, d.path(), o), std::runtime_error);
    o.on_event = nullptr;
    migrate(*pool_, d.path(), o);
    expect_applied_once(s);
  }
}

// DSQL LOCAL's faults at each transaction in turn: conflicts past the retry budget stop the run;
// the next run resumes there.
TEST_F(Migrate, ResumesAfterConflictsExhaustTheRetriesAtEveryTransaction) {
  for (const char* fault : {"DSQL LOCAL FAIL NEXT COMMIT WITH OC000 TIMES 3",
                            "DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 TIMES 3"}) {
    for (std::size_t t = 0; t < 7; ++t) {
      SCOPED_TRACE(std::string(fault) + " at transaction " + std::to_string(t));
      const std::string s = std::string(fault).find("COMMIT") != std::string::npos
                                ? "occ" + std::to_string(t)
                                : "schema" + std::to_string(t);
      scratch_dir d;
      write_set(d, s);
      migrate_options o = options(s);
      o.retry = fast_retry(3);
      std::size_t starting = 0;
      o.on_event = [&](const migrate_event& e) {
        if (e.kind == migrate_event::type::transaction_starting && starting++ == t) {
          exec_with_retry(*pool_, fault);
        }
      };
      try {
        migrate(*pool_, d.path(), o);
        ADD_FAILURE() << "the run survived three conflicts in a row";
      } catch (const migration_error& e) {
        EXPECT_NE(std::string(e.what()).find("OC00"), std::string::npos) << e.what();
      }
      exec_with_retry(*pool_, "DSQL LOCAL RESET FAULTS");
      o.on_event = nullptr;
      migrate(*pool_, d.path(), o);
      expect_applied_once(s);
    }
  }
}

TEST_F(Migrate, ConflictsWithinTheRetryBudgetAreRetried) {
  scratch_dir d;
  write_set(d, "retried");
  exec_with_retry(*pool_, "DSQL LOCAL FAIL NEXT COMMIT WITH OC000 TIMES 2");
  exec_with_retry(*pool_, "DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 TIMES 2");
  migrate(*pool_, d.path(), options("retried"));
  exec_with_retry(*pool_, "DSQL LOCAL RESET FAULTS");
  expect_applied_once("retried");
}

TEST_F(Migrate, AFailedUniqueIndexJobIsReportedAndTheFixedFileResumes) {
  scratch_dir d;
  const std::string create = "CREATE TABLE dup (id bigint PRIMARY KEY, v text);\n" +
                             std::string("INSERT INTO dup VALUES (1, 'x'), (2, 'x'), (3, 'y');\n");
  d.write("V1__dup.sql", create + "CREATE UNIQUE INDEX ASYNC dup_v ON dup (v);\n");
  try {
    migrate(*pool_, d.path(), options("dup"));
    FAIL() << "a unique index over duplicates was accepted";
  } catch (const migration_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.line(), 3u) << what;
    EXPECT_NE(what.find("V1__dup.sql:3: "), std::string::npos) << what;
    EXPECT_NE(what.find("Found duplicate key"), std::string::npos) << what;
    EXPECT_NE(what.find("left INVALID"), std::string::npos) << what;
  }
  EXPECT_EQ(query_value(*pool_,
                        "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                        "'dup_v'::regclass"),
            "f");
  EXPECT_EQ(query_value(*pool_, "SELECT state || ':' || applied_statements FROM h_dup"),
            "failed:2");
  // Fix: drop the invalid index, and remove the duplicate in a statement before the index. The
  // two statements already applied are unchanged, so the edited file may resume.
  exec_with_retry(*pool_, "DROP INDEX dup_v");
  d.write("V1__dup.sql", create + "DELETE FROM dup WHERE id = 2;\n" +
                             "CREATE UNIQUE INDEX ASYNC dup_v ON dup (v);\n");
  const migrate_result r = migrate(*pool_, d.path(), options("dup"));
  EXPECT_EQ(r.statements, 2u);
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM dup"), "2");
  EXPECT_EQ(query_value(*pool_,
                        "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                        "'dup_v'::regclass"),
            "t");
}

TEST_F(Migrate, AChangedAppliedFileIsRefusedAndNothingRuns) {
  scratch_dir d;
  d.write("V1__a.sql", "CREATE TABLE changed_a (id bigint PRIMARY KEY);\n");
  migrate(*pool_, d.path(), options("changed"));
  d.write("V1__a.sql", "CREATE TABLE changed_a (id bigint PRIMARY KEY, b text);\n");
  d.write("V2__b.sql", "CREATE TABLE changed_b (id bigint PRIMARY KEY);\n");
  try {
    migrate(*pool_, d.path(), options("changed"));
    FAIL();
  } catch (const migration_error& e) {
    EXPECT_NE(std::string(e.what()).find("V1__a.sql: version 1 was applied"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("has changed since"), std::string::npos) << e.what();
  }
  EXPECT_EQ(query_value(*pool_, "SELECT to_regclass('changed_b') IS NULL"), "t");
  // Editing the applied statements of a partly applied migration is refused the same way.
  d.write("V1__a.sql", "CREATE TABLE changed_a (id bigint PRIMARY KEY);\n");
  d.write("V2__b.sql", "CREATE TABLE changed_b (id bigint PRIMARY KEY);\nSELECT 1;\n");
  migrate_options o = options("changed");
  o.on_event = [](const migrate_event& e) {
    if (e.kind == migrate_event::type::transaction_starting && e.first_statement == 1) {
      throw std::runtime_error("stop");
    }
  };
  EXPECT_THROW(migrate(*pool_, d.path(), o), std::runtime_error);
  d.write("V2__b.sql", "CREATE TABLE changed_b (id bigint PRIMARY KEY, c text);\nSELECT 1;\n");
  try {
    migrate(*pool_, d.path(), options("changed"));
    FAIL();
  } catch (const migration_error& e) {
    EXPECT_NE(std::string(e.what()).find("changed among them"), std::string::npos) << e.what();
  }
}

TEST_F(Migrate, KnownRefusalsAndOlderVersionsStopTheRunBeforeAnythingRuns) {
  scratch_dir d;
  d.write("V1__ok.sql", "CREATE TABLE refused_ok (id bigint PRIMARY KEY);\n");
  d.write("V2__bad.sql", "SELECT 1;\nTRUNCATE refused_ok;\nCREATE INDEX i ON refused_ok (id);\n");
  try {
    migrate(*pool_, d.path(), options("refused"));
    FAIL();
  } catch (const migration_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.line(), 2u);
    EXPECT_NE(what.find("2 statements would be refused by DSQL; nothing was applied"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("V2__bad.sql:2: 'TRUNCATE refused_ok': unsupported statement: Truncate"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("please use CREATE INDEX ASYNC"), std::string::npos) << what;
  }
  EXPECT_EQ(query_value(*pool_, "SELECT to_regclass('refused_ok') IS NULL"), "t");

  scratch_dir e;
  e.write("V2__b.sql", "SELECT 1;\n");
  migrate(*pool_, e.path(), options("order"));
  e.write("V1__a.sql", "SELECT 1;\n");
  try {
    migrate(*pool_, e.path(), options("order"));
    FAIL();
  } catch (const migration_error& err) {
    EXPECT_NE(std::string(err.what()).find("version 1 is older than version 2"), std::string::npos)
        << err.what();
  }
}

TEST_F(Migrate, AStatementWhoseEffectCannotBeSeenIsResolvedOnRequest) {
  scratch_dir d;
  d.write("V1__r.sql",
          "CREATE TABLE renamed (a text);\nALTER TABLE renamed RENAME COLUMN a TO b;\nSELECT 1;\n");
  migrate_options o = options("resolve");
  o.on_event = [](const migrate_event& e) {
    if (e.kind == migrate_event::type::transaction_committed && e.first_statement == 1) {
      throw std::runtime_error("crash after the rename committed, before it was recorded");
    }
  };
  EXPECT_THROW(migrate(*pool_, d.path(), o), std::runtime_error);
  try {
    migrate(*pool_, d.path(), options("resolve"));
    FAIL();
  } catch (const migration_error& e) {
    EXPECT_EQ(e.line(), 2u);
    EXPECT_NE(std::string(e.what()).find("--resolve applied"), std::string::npos) << e.what();
  }
  o = options("resolve");
  o.resolve = uncertain_statement::applied;
  const migrate_result r = migrate(*pool_, d.path(), o);
  EXPECT_EQ(r.statements, 1u);  // the SELECT; the rename was not run again
  EXPECT_EQ(query_value(*pool_,
                        "SELECT count(*) FROM pg_attribute WHERE attrelid = "
                        "'renamed'::regclass AND attname = 'b'"),
            "1");
}

TEST_F(Migrate, ADryRunShowsWhatIsLeftAndAppliesNothing) {
  scratch_dir d;
  write_set(d, "dry");
  migrate_options o = options("dry");
  o.target_version = "1";
  migrate(*pool_, d.path(), o);
  o.target_version.clear();
  o.dry_run = true;
  const migrate_result r = migrate(*pool_, d.path(), o);
  ASSERT_EQ(r.plan.migrations.size(), 2u);
  EXPECT_TRUE(r.plan.migrations[0].applied);
  EXPECT_FALSE(r.plan.migrations[1].applied);
  EXPECT_EQ(r.plan.migrations[1].transactions, 3u);
  EXPECT_EQ(query_value(*pool_, "SELECT to_regclass('u_dry') IS NULL"), "t");
}

}  // namespace
}  // namespace dsql::test
