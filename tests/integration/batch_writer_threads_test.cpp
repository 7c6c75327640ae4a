// dsql::batch_writer with several workers on one pool: every row once, the statistics add up,
// and on_commit calls never overlap (a plain counter in it would race under ThreadSanitizer);
// full batches written at once into one table never conflict, as on DSQL.

#include <gtest/gtest.h>

#include "migrate_support.hpp"

namespace dsql::test {
namespace {

// Four workers on a pool of five, writing into a fresh table (id bigint PRIMARY KEY, text).
struct four_workers {
  local_endpoint endpoint;
  pool p;
  batch_writer_options o;
  explicit four_workers(const std::string& table) : p(endpoint.config(), sized(5)) {
    exec_with_retry(p, "CREATE TABLE " + table + " (id bigint PRIMARY KEY, filler text)");
    o.table = table;
    o.workers = 4;
  }
  static pool_options sized(std::size_t n) {
    pool_options po;
    po.max_size = n;
    return po;
  }
};

TEST(BatchWriterThreads, WorkersWriteEveryRowOnce) {
  four_workers t("bw_threads");
  pool& p = t.p;
  batch_writer_options& o = t.o;
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
  four_workers t("bw_extend");
  pool& p = t.p;
  batch_writer_options& o = t.o;
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
