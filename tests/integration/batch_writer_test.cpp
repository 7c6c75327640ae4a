// dsql::batch_writer against dsql local (3,000-row limit on): batches, stats, hooks, the insert
// method's ON CONFLICT DO NOTHING, and errors that name the row.

#include <gtest/gtest.h>

#include <memory>

#include "migrate_support.hpp"

namespace dsql::test {
namespace {

class BatchWriter : public endpoint_suite<BatchWriter> {
 protected:
  static void SetUpTestSuite() { start(); }
  static void sql(const std::string& s) { exec_with_retry(*pool_, s); }

  static batch_writer_options options(const std::string& table) {
    batch_writer_options o;
    o.table = table;
    o.workers = 1;
    o.retry.initial_backoff = std::chrono::milliseconds(2);
    o.retry.max_backoff = std::chrono::milliseconds(20);
    return o;
  }
};

TEST_F(BatchWriter, WritesRowsInBatchesWithinTheRowLimit) {
  sql("CREATE TABLE bw_rows (id bigint PRIMARY KEY, name text, note text)");
  std::vector<batch_info> commits;
  auto o = options("bw_rows");
  o.columns = {"id", "NAME", "note"};
  o.digests = true;
  o.on_commit = [&](const batch_info& b) { commits.push_back(b); };
  batch_writer w(*pool_, o);
  EXPECT_EQ(w.table(), "bw_rows");
  ASSERT_EQ(w.columns().size(), 3u);
  for (int i = 0; i < 10000; ++i) {
    const std::string id = std::to_string(i);
    w.append({id, "tab\tand\nnewline", i % 2 ? std::nullopt : std::optional<std::string_view>("x")},
             static_cast<std::uint64_t>(i) + 2);
  }
  w.finish();
  const batch_writer_stats s = w.stats();
  EXPECT_EQ(s.rows_appended, 10000u);
  EXPECT_EQ(s.rows_committed, 10000u);
  EXPECT_EQ(s.rows_written, 10000u);
  EXPECT_EQ(s.batches_committed, 4u);  // 3,000 + 3,000 + 3,000 + 1,000
  EXPECT_EQ(s.batches_in_flight, 0u);
  ASSERT_EQ(commits.size(), 4u);
  EXPECT_EQ(commits[3].first_row, 9000u);
  EXPECT_EQ(commits[3].rows, 1000u);
  EXPECT_EQ(commits[3].first_tag, 9002u);
  EXPECT_EQ(commits[3].last_tag, 10001u);
  EXPECT_EQ(commits[0].digest.size(), 64u);
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM bw_rows"), "10000");
  EXPECT_EQ(query_value(*pool_, "SELECT name FROM bw_rows WHERE id = 5"), "tab\tand\nnewline");
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM bw_rows WHERE note IS NULL"), "5000");
  EXPECT_THROW(w.append({"1", "a", "b"}), error);
}

TEST_F(BatchWriter, BatchesAreCutByBytesToo) {
  sql("CREATE TABLE bw_bytes (id bigint PRIMARY KEY, payload text)");
  auto o = options("bw_bytes");
  o.limits.max_bytes = 64 * 1024;
  batch_writer w(*pool_, o);
  const std::string payload(1000, 'p');
  for (int i = 0; i < 1000; ++i) w.append({std::to_string(i), payload});
  w.finish();
  // Some 1,005 bytes a row: 65 rows fit in 64 KiB, so 16 batches.
  EXPECT_EQ(w.stats().batches_committed, 16u);
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM bw_bytes"), "1000");
}

TEST_F(BatchWriter, TheFilterSkipsAndTheHookWritesInTheBatchTransaction) {
  sql("CREATE TABLE bw_hooks (id bigint PRIMARY KEY)");
  sql("CREATE TABLE bw_ledger (batch bigint PRIMARY KEY)");
  auto o = options("bw_hooks");
  o.limits.max_rows = 2999;  // the ledger row is the transaction's 3,000th
  o.filter = [](const batch_info& b) { return b.number != 1; };
  o.in_transaction = [](connection& c, const batch_info& b) {
    c.exec_params("INSERT INTO bw_ledger VALUES ($1)", {std::to_string(b.number)});
  };
  batch_writer w(*pool_, o);
  for (int i = 0; i < 9000; ++i) w.append({std::to_string(i)});
  w.finish();
  EXPECT_EQ(w.stats().batches_skipped, 1u);
  EXPECT_EQ(w.stats().rows_skipped, 2999u);
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM bw_hooks"), std::to_string(9000 - 2999));
  EXPECT_EQ(
      query_value(*pool_, "SELECT string_agg(batch::text, ',' ORDER BY batch) FROM bw_ledger"),
      "0,2,3");
}

TEST_F(BatchWriter, TheInsertMethodCanSkipConflicts) {
  sql("CREATE TABLE bw_insert (id bigint PRIMARY KEY, v text)");
  sql("INSERT INTO bw_insert VALUES (5, 'old')");
  auto o = options("bw_insert");
  o.method = write_method::insert;
  o.conflict = on_conflict::do_nothing;
  batch_writer w(*pool_, o);
  for (int i = 0; i < 100; ++i) w.append({std::to_string(i), "new"});
  w.finish();
  EXPECT_EQ(w.stats().rows_committed, 100u);
  EXPECT_EQ(w.stats().rows_written, 99u);
  EXPECT_EQ(query_value(*pool_, "SELECT v FROM bw_insert WHERE id = 5"), "old");
  auto copy = options("bw_insert");
  copy.conflict = on_conflict::do_nothing;
  EXPECT_THROW(batch_writer(*pool_, copy), config_error);
}

TEST_F(BatchWriter, AFailedBatchNamesItsRowAndWritesNothingOfIt) {
  sql("CREATE TABLE bw_fail (id bigint PRIMARY KEY, score double precision)");
  auto o = options("bw_fail");
  o.limits.max_rows = 100;
  batch_writer w(*pool_, o);
  try {
    for (int i = 0; i < 1000; ++i) {
      w.append({std::to_string(i), i == 150 ? "not a number" : "1.5"},
               static_cast<std::uint64_t>(i) + 1000);
    }
    w.flush();
    FAIL() << "a bad value was accepted";
  } catch (const batch_error& e) {
    EXPECT_EQ(e.sqlstate(), "22P02");
    ASSERT_TRUE(e.row_tag());
    EXPECT_EQ(*e.row_tag(), 1150u);
    EXPECT_EQ(e.batch().number, 1u);
    EXPECT_NE(std::string(e.what()).find("batch 2 (rows 101 to 200) was not written"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM bw_fail WHERE id >= 100 AND id < 200"), "0");
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM bw_fail WHERE id < 100"), "100");
  EXPECT_THROW(w.append({"5000", "1"}), batch_error);
}

TEST_F(BatchWriter, DrainLeavesTheBatchBeingFilledUnsent) {
  sql("CREATE TABLE bw_drain (id bigint PRIMARY KEY)");
  auto o = options("bw_drain");
  o.limits.max_rows = 10;
  {
    batch_writer w(*pool_, o);
    for (int i = 0; i < 25; ++i) w.append({std::to_string(i)});
    w.drain();
    EXPECT_EQ(w.stats().rows_committed, 20u);
  }  // destroyed without finish(): the last five are not written
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM bw_drain"), "20");
}

TEST_F(BatchWriter, UnknownTablesColumnsAndRowShapesAreRefused) {
  sql("CREATE TABLE bw_shape (id bigint PRIMARY KEY, v text)");
  try {
    batch_writer w(*pool_, options("bw_missing"));
    FAIL();
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("table 'bw_missing' does not exist"), std::string::npos);
  }
  auto o = options("bw_shape");
  o.columns = {"id", "nope"};
  EXPECT_THROW(batch_writer(*pool_, o), config_error);
  batch_writer w(*pool_, options("bw_shape"));
  EXPECT_THROW(w.append({"1"}), config_error);
  auto bad = options("bw_shape");
  bad.workers = 0;
  EXPECT_THROW(batch_writer(*pool_, bad), config_error);
}

}  // namespace
}  // namespace dsql::test
