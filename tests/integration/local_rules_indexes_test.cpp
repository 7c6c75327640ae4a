// DSQL's asynchronous DDL as `dsql local` applies it: CREATE [UNIQUE] INDEX ASYNC answers a
// job_id row (command tag CREATE INDEX) and leaves the build to a job listed in sys.jobs;
// CALL sys.wait_for_job waits for it; ALTER TABLE ASYNC ... VALIDATE CONSTRAINT is a job too;
// every other way to build an index is refused. Sources: reference/dsql-server.md §4.1,
// /tmp/dsql_research/facts.md Topic 4, dsql_cluster_probes.json (async-index).

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <regex>

#include "local_rules.hpp"

namespace dsql::test {
namespace {

class AsyncIndexes : public shared_endpoint<AsyncIndexes> {
 public:
  // Jobs stay submitted for 200 ms, so that they are seen submitted before they run.
  static local_endpoint::options endpoint_options() {
    local_endpoint::options o;
    o.extra_args = {"--index-build-delay", "200"};
    return o;
  }

 protected:
  static std::string table(connection& c) {
    const std::string name = fresh_name("idx");
    c.exec("CREATE TABLE " + name + " (id int PRIMARY KEY, a int, b text)");
    return name;
  }

  // Runs a statement that answers a job: checks the answer's shape and returns the job id.
  static std::string submit(connection& c, const std::string& sql, const char* tag) {
    result r = c.exec(sql);
    EXPECT_EQ(r.command_tag(), tag) << sql;
    EXPECT_EQ(r.rows(), 1u) << sql;
    EXPECT_EQ(r.columns(), 1u) << sql;
    if (r.rows() != 1 || r.columns() != 1) return {};
    EXPECT_STREQ(PQfname(r.raw(), 0), "job_id");
    const std::string id(r.value(0, 0));
    EXPECT_TRUE(std::regex_match(id, std::regex("[a-z2-7]{26}"))) << id;
    return id;
  }

  // CALL sys.wait_for_job: one row, column succeeded.
  static std::string wait_for(connection& c, const std::string& job) {
    result r = c.exec("CALL sys.wait_for_job('" + job + "')");
    EXPECT_EQ(r.rows(), 1u);
    EXPECT_EQ(r.columns(), 1u);
    if (r.rows() != 1 || r.columns() != 1) return "<bad answer>";
    EXPECT_STREQ(PQfname(r.raw(), 0), "succeeded");
    return std::string(r.value(0, 0));
  }

  static std::string job_field(connection& c, const std::string& job, const std::string& field) {
    result r = c.exec_params("SELECT " + field + " FROM sys.jobs WHERE job_id = $1", {job});
    if (r.rows() != 1) return "<" + std::to_string(r.rows()) + " rows>";
    return r.is_null(0, 0) ? "<null>" : std::string(r.value(0, 0));
  }

  static std::string index_valid(connection& c, const std::string& index) {
    return scalar(c,
                  "SELECT indisvalid FROM pg_index WHERE indexrelid = '" + index + "'::regclass");
  }
};

TEST_F(AsyncIndexes, CreateIndexAsyncAnswersAJobThatBuildsTheIndex) {
  connection c = open();
  const std::string t = table(c);
  c.exec("INSERT INTO " + t + " SELECT g, g % 7, 'v' || g FROM generate_series(1, 50) g");
  const std::string index = fresh_name("idx_a");
  const std::string job =
      submit(c, "CREATE INDEX ASYNC " + index + " ON " + t + " (a)", "CREATE INDEX");
  ASSERT_FALSE(job.empty());
  EXPECT_EQ(job_field(c, job, "job_type"), "INDEX_BUILD");
  EXPECT_EQ(job_field(c, job, "class_id"), "1259");  // pg_class
  EXPECT_EQ(job_field(c, job, "object_id"), scalar(c, "SELECT '" + index + "'::regclass::oid"));
  EXPECT_NE(job_field(c, job, "object_name").find(index), std::string::npos);

  EXPECT_EQ(wait_for(c, job), "t");
  EXPECT_EQ(job_field(c, job, "status"), "completed");
  EXPECT_NE(job_field(c, job, "update_time"), "<null>");
  EXPECT_EQ(index_valid(c, index), "t");
  // A finished job is waited for at once, again.
  EXPECT_EQ(wait_for(c, job), "t");
}

TEST_F(AsyncIndexes, SysJobsHasDsqlsColumns) {
  connection c = open();
  result r = c.exec("SELECT * FROM sys.jobs LIMIT 0");
  std::vector<std::string> columns;
  for (int i = 0; i < PQnfields(r.raw()); ++i) columns.emplace_back(PQfname(r.raw(), i));
  EXPECT_EQ(columns,
            (std::vector<std::string>{"job_id", "status", "details", "job_type", "class_id",
                                      "object_id", "object_name", "start_time", "update_time"}));
}

TEST_F(AsyncIndexes, AJobIsSubmittedUntilItsTransactionCommitsThenCompletes) {
  connection c = open();
  const std::string t = table(c);
  const std::string index = fresh_name("idx_txn");
  c.exec("BEGIN");
  const std::string job =
      submit(c, "CREATE INDEX ASYNC " + index + " ON " + t + " (b)", "CREATE INDEX");
  ASSERT_FALSE(job.empty());
  // Nothing runs a job before the transaction that submitted it commits.
  EXPECT_EQ(job_field(c, job, "status"), "submitted");
  EXPECT_EQ(job_field(c, job, "update_time"), "<null>");
  EXPECT_EQ(index_valid(c, index), "f");
  c.exec("COMMIT");
  EXPECT_EQ(wait_for(c, job), "t");
  EXPECT_EQ(job_field(c, job, "status"), "completed");
  EXPECT_EQ(index_valid(c, index), "t");
}

TEST_F(AsyncIndexes, EveryDocumentedFormOfCreateIndexAsyncWorks) {
  connection c = open();
  const std::string t = table(c);
  const std::vector<std::string> forms = {
      "CREATE UNIQUE INDEX ASYNC " + fresh_name("idx_u") + " ON " + t + " (b)",
      "CREATE INDEX ASYNC IF NOT EXISTS " + fresh_name("idx_ine") + " ON " + t + " (a)",
      "CREATE INDEX ASYNC " + fresh_name("idx_incl") + " ON " + t + " (a) INCLUDE (b)",
      "CREATE INDEX ASYNC " + fresh_name("idx_part") + " ON " + t + " (a) WHERE a > 3",
      "CREATE INDEX ASYNC " + fresh_name("idx_expr") + " ON " + t + " ((lower(b)))",
      "CREATE INDEX ASYNC " + fresh_name("idx_nulls") + " ON " + t + " (a NULLS FIRST, b)",
      "CREATE UNIQUE INDEX ASYNC " + fresh_name("idx_nnd") + " ON " + t + " (a) NULLS NOT DISTINCT",
  };
  for (const std::string& sql : forms) {
    const std::string job = submit(c, sql, "CREATE INDEX");
    ASSERT_FALSE(job.empty()) << sql;
    EXPECT_EQ(wait_for(c, job), "t") << sql;
  }
  // IF NOT EXISTS over an index that exists: still a job, with nothing to do.
  const std::string again =
      "CREATE INDEX ASYNC IF NOT EXISTS " + fresh_name("idx_twice") + " ON " + t + " (b, a)";
  EXPECT_EQ(wait_for(c, submit(c, again, "CREATE INDEX")), "t");
  EXPECT_EQ(wait_for(c, submit(c, again, "CREATE INDEX")), "t");
  // Without IF NOT EXISTS the name is taken.
  const std::string taken = fresh_name("idx_taken");
  EXPECT_EQ(
      wait_for(c, submit(c, "CREATE INDEX ASYNC " + taken + " ON " + t + " (a)", "CREATE INDEX")),
      "t");
  EXPECT_TRUE(fails_with(c, "CREATE INDEX ASYNC " + taken + " ON " + t + " (b)", "42P07",
                         "relation \"" + taken + "\" already exists"));
}

TEST_F(AsyncIndexes, AUniqueIndexOverDuplicatesFailsAndStaysInvalid) {
  connection c = open();
  const std::string t = table(c);
  c.exec("INSERT INTO " + t + " VALUES (1, 5, 'x'), (2, 5, 'y')");
  const std::string index = fresh_name("idx_dup");
  const std::string job =
      submit(c, "CREATE UNIQUE INDEX ASYNC " + index + " ON " + t + " (a)", "CREATE INDEX");
  ASSERT_FALSE(job.empty());
  EXPECT_EQ(wait_for(c, job), "f");
  EXPECT_EQ(job_field(c, job, "status"), "failed");
  EXPECT_EQ(job_field(c, job, "details"), "Found duplicate key while validating index for UCVs");
  // The index is left behind, invalid, as DSQL leaves it.
  EXPECT_EQ(index_valid(c, index), "f");
  // The same over distinct values succeeds.
  const std::string ok = fresh_name("idx_nodup");
  EXPECT_EQ(wait_for(c, submit(c, "CREATE UNIQUE INDEX ASYNC " + ok + " ON " + t + " (b)",
                               "CREATE INDEX")),
            "t");
  EXPECT_EQ(index_valid(c, ok), "t");
}

TEST_F(AsyncIndexes, OtherWaysToBuildAnIndexAreRefused) {
  connection c = open();
  const std::string t = table(c);
  const std::string i = fresh_name("idx_refused");
  EXPECT_TRUE(fails_with(c, "CREATE INDEX " + i + " ON " + t + " (a)", "0A000",
                         "unsupported mode. please use CREATE INDEX ASYNC."));
  EXPECT_TRUE(fails_with(c, "CREATE UNIQUE INDEX " + i + " ON " + t + " (a)", "0A000",
                         "unsupported mode. please use CREATE INDEX ASYNC."));
  EXPECT_TRUE(fails_with(c, "CREATE INDEX CONCURRENTLY " + i + " ON " + t + " (a)", "0A000",
                         "CONCURRENTLY not supported for CREATE INDEX"));
  EXPECT_TRUE(fails_with(c, "CREATE INDEX ASYNC " + i + " ON " + t + " (a DESC)", "0A000",
                         "specifying sort order not supported for index keys"));
  EXPECT_TRUE(fails_with(c, "CREATE INDEX ASYNC " + i + " ON " + t + " (a ASC)", "0A000",
                         "specifying sort order not supported for index keys"));
  EXPECT_TRUE(fails_with(c, "CREATE INDEX ASYNC " + i + " ON " + t + " USING btree (a)", "0A000",
                         "USING not supported for CREATE INDEX"));
  EXPECT_TRUE(fails_with(c, "CREATE INDEX ASYNC " + i + " ON " + t + " USING hash (a)", "0A000",
                         "USING not supported for CREATE INDEX"));
  EXPECT_TRUE(fails_with(c, "CREATE INDEX ASYNC public." + i + " ON " + t + " (a)", "42601",
                         "syntax error at or near \".\""));
  // None of them left an index behind.
  EXPECT_FALSE(relation_exists(c, i));
}

TEST_F(AsyncIndexes, AlterTableAsyncValidatesANotValidForeignKey) {
  connection c = open();
  const std::string parent = table(c), child = table(c);
  c.exec("INSERT INTO " + parent + " VALUES (1, 1, 'p')");
  c.exec("INSERT INTO " + child + " VALUES (10, 1, 'c')");
  const std::string fk = fresh_name("fk_valid");
  c.exec("ALTER TABLE " + child + " ADD CONSTRAINT " + fk + " FOREIGN KEY (a) REFERENCES " +
         parent + " (id) NOT VALID");
  const std::string validated =
      "SELECT convalidated FROM pg_constraint WHERE conname = '" + fk + "'";
  EXPECT_EQ(scalar(c, validated), "f");
  // The synchronous form is refused.
  EXPECT_TRUE(fails_with(c, "ALTER TABLE " + child + " VALIDATE CONSTRAINT " + fk, "0A000",
                         "unsupported ALTER TABLE VALIDATE CONSTRAINT statement"));
  const std::string job =
      submit(c, "ALTER TABLE ASYNC " + child + " VALIDATE CONSTRAINT " + fk, "ALTER TABLE");
  ASSERT_FALSE(job.empty());
  EXPECT_EQ(job_field(c, job, "job_type"), "VALIDATE_CONSTRAINT");
  EXPECT_EQ(wait_for(c, job), "t");
  EXPECT_EQ(job_field(c, job, "status"), "completed");
  EXPECT_EQ(scalar(c, validated), "t");
}

TEST_F(AsyncIndexes, ValidatingAViolatedConstraintFails) {
  connection c = open();
  const std::string parent = table(c), child = table(c);
  c.exec("INSERT INTO " + child + " VALUES (10, 99, 'orphan')");
  const std::string fk = fresh_name("fk_orphan");
  c.exec("ALTER TABLE " + child + " ADD CONSTRAINT " + fk + " FOREIGN KEY (a) REFERENCES " +
         parent + " (id) NOT VALID");
  const std::string job =
      submit(c, "ALTER TABLE ASYNC " + child + " VALIDATE CONSTRAINT " + fk, "ALTER TABLE");
  ASSERT_FALSE(job.empty());
  EXPECT_EQ(wait_for(c, job), "f");
  EXPECT_EQ(job_field(c, job, "status"), "failed");
  EXPECT_EQ(scalar(c, "SELECT convalidated FROM pg_constraint WHERE conname = '" + fk + "'"), "f");
}

TEST_F(AsyncIndexes, WaitForJobIsRefusedInATransactionBlock) {
  connection c = open();
  const std::string t = table(c);
  const std::string job = submit(
      c, "CREATE INDEX ASYNC " + fresh_name("idx_wait") + " ON " + t + " (a)", "CREATE INDEX");
  ASSERT_FALSE(job.empty());
  c.exec("BEGIN");
  EXPECT_TRUE(fails_with(c, "CALL sys.wait_for_job('" + job + "')", "0A000",
                         "CALL sys.wait_for_job not supported in transaction block"));
  EXPECT_TRUE(transaction_aborted(c));
  // Outside a block the same call waits and answers.
  EXPECT_EQ(wait_for(c, job), "t");
}

TEST_F(AsyncIndexes, AMalformedJobIdIsNotAUuid) {
  connection c = open();
  for (const char* id : {"no-such-job", "", "AAAAAAAAAAAAAAAAAAAAAAAAAA", "abc"}) {
    EXPECT_TRUE(fails_with(c, std::string("CALL sys.wait_for_job('") + id + "')", "22P02",
                           "Unable to convert text to UUID"));
  }
  EXPECT_TRUE(fails_with(c, "CALL sys.wait_for_job((SELECT job_id FROM sys.jobs LIMIT 1))", "0A000",
                         "cannot use subquery in CALL argument"));
}

TEST_F(AsyncIndexes, DropTableIsRecordedAsADropJob) {
  connection c = open();
  const std::string t = table(c);
  const std::string oid = scalar(c, "SELECT '" + t + "'::regclass::oid");
  EXPECT_EQ(c.exec("DROP TABLE " + t).command_tag(), "DROP TABLE");
  const std::string drop_jobs =
      "SELECT count(*) FROM sys.jobs WHERE job_type = 'DROP' AND "
      "class_id = 1259 AND object_id = " +
      oid;
  EXPECT_EQ(scalar(c, drop_jobs), "1");
  const std::string job =
      scalar(c, "SELECT job_id FROM sys.jobs WHERE job_type = 'DROP' AND object_id = " + oid);
  EXPECT_EQ(wait_for(c, job), "t");
  EXPECT_EQ(job_field(c, job, "status"), "completed");
  // Dropping nothing records nothing.
  const std::string before = scalar(c, "SELECT count(*) FROM sys.jobs WHERE job_type = 'DROP'");
  c.exec("DROP TABLE IF EXISTS " + fresh_name("never_created"));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM sys.jobs WHERE job_type = 'DROP'"), before);
}

// The delay sets how long a job stays submitted (here far longer than this test's statements).
TEST(AsyncIndexDelay, AJobStaysSubmittedForTheBuildDelay) {
  local_endpoint::options o;
  o.extra_args = {"--index-build-delay", "3000"};
  local_endpoint ep(o);
  connection c = dsql::connect(ep.config());
  c.exec("CREATE TABLE delayed (id int PRIMARY KEY, a int)");
  result r = c.exec("CREATE INDEX ASYNC delayed_a ON delayed (a)");
  ASSERT_EQ(r.rows(), 1u);
  const std::string job(r.value(0, 0));
  EXPECT_EQ(scalar(c, "SELECT status FROM sys.jobs WHERE job_id = '" + job + "'"), "submitted");
  EXPECT_EQ(scalar(c, "CALL sys.wait_for_job('" + job + "')"), "t");
  // It ran no sooner than the delay after it was submitted.
  EXPECT_EQ(scalar(c,
                   "SELECT update_time - start_time >= interval '3 seconds' FROM sys.jobs "
                   "WHERE job_id = '" +
                       job + "'"),
            "t");
}

}  // namespace
}  // namespace dsql::test
