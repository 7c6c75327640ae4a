// dsql::batch_writer with several workers on one pool: every row once, the statistics add up,
// and on_commit calls never overlap (a plain counter in it would race under ThreadSanitizer);
// full batches written at once into one table never conflict, as on DSQL.

#include <gtest/gtest.h>

#include "migrate_support.hpp"

namespace dsql::test {
namespace {

TEST(BatchWriterThreads, WorkersWriteEveryRowOnce) {
  local_endpoint endpoint;
  pool_options po;
  po.max_size = 5;
  pool p(endpoint.config(), po);
  exec_with_retry(p, "CREATE TABLE bw_threads (id bigint PRIMARY KEY, worker text)");
  batch_writer_options o;
  o.table = "bw_threads";
  o.workers = 4;
  o.limits.max_rows = 20;
  std::uint64_t commits = 0, rows = 0;  // on_commit's own: its calls are serialised
  o.on_commit = [&](const batch_info& b) {
    ++commits;
    rows += b.rows;
  };
  batch_writer w(p, o);
  for (int i = 0; i < 4000; ++i) w.append({std::to_string(i), "w"});
  const batch_writer_stats during = w.stats();
  EXPECT_EQ(during.rows_appended, 4000u);
  w.finish();
  const batch_writer_stats s = w.stats();
  EXPECT_EQ(s.rows_committed, 4000u);
  EXPECT_EQ(s.batches_committed, 200u);
  EXPECT_EQ(commits, 200u);
  EXPECT_EQ(rows, 4000u);
  EXPECT_EQ(query_value(p, "SELECT count(*) || ' ' || count(DISTINCT id) FROM bw_threads"),
            "4000 4000");
}

// Workers growing one table wait on PostgreSQL's relation-extension lock now and then; DSQL has
// no such conflict, so dsql local must not report one (it once cancelled such waiters).
TEST(BatchWriterThreads, FullBatchesAtOnceIntoOneTableNeverConflict) {
  local_endpoint endpoint;
  pool_options po;
  po.max_size = 5;
  pool p(endpoint.config(), po);
  exec_with_retry(p, "CREATE TABLE bw_extend (id bigint PRIMARY KEY, filler text)");
  batch_writer_options o;
  o.table = "bw_extend";
  o.workers = 4;
  o.retry.max_attempts = 1;  // a conflict fails the load instead of hiding in a retry
  batch_writer w(p, o);
  const std::string filler(200, 'x');
  for (int i = 0; i < 150000; ++i) w.append({std::to_string(i), filler});
  w.finish();
  const batch_writer_stats s = w.stats();
  EXPECT_EQ(s.rows_committed, 150000u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(query_value(p, "SELECT count(DISTINCT id) FROM bw_extend"), "150000");
}

}  // namespace
}  // namespace dsql::test
