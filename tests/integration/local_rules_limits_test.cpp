// DSQL's per-transaction limits as `dsql local` applies them: 3,000 modified rows (the crossing
// statement fails), 10 MiB written (checked at COMMIT), 300 s of age; and the options that shrink
// each. Sources: reference/dsql-server.md §3.4, /tmp/dsql_research/facts.md Topic 5,
// dsql_cluster_probes.json (row-limit); the units of a shrunk size limit: transaction_rules.c.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "local_rules.hpp"

namespace dsql::test {
namespace {

constexpr const char* row_limit = "transaction row limit exceeded";

// Longer than a 2-second age limit whatever the machine's speed: sleeping more only adds age.
void outlive_two_seconds() {
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A table whose text values are stored as they are (no compression), so that what a transaction
// writes is what it inserts.
std::string wide_table(connection& c) {
  const std::string t = fresh_name("wide");
  c.exec("CREATE TABLE " + t + " (id int PRIMARY KEY, v text)");
  c.exec("ALTER TABLE " + t + " ALTER COLUMN v SET STORAGE EXTERNAL");
  return t;
}

// INSERTs `rows` rows of `chunks` * 32 bytes of distinct hex text each, starting at id `first`.
std::string insert_wide(const std::string& t, int rows, int chunks, int first = 1) {
  return "INSERT INTO " + t + " SELECT g, (SELECT string_agg(md5(g::text || ':' || i::text), '') " +
         "FROM generate_series(1, " + std::to_string(chunks) + ") i) FROM generate_series(" +
         std::to_string(first) + ", " + std::to_string(first + rows - 1) + ") g";
}

// 28,000 chunks: 896,000 bytes a value, under DSQL's 1 MiB per value.
constexpr int big_value = 28000;

class Limits : public shared_endpoint<Limits> {
 protected:
  static std::string table(connection& c) {
    const std::string name = fresh_name("lim");
    c.exec("CREATE TABLE " + name + " (id int PRIMARY KEY, v int)");
    return name;
  }
  static std::string rows_in(connection& c, const std::string& t) {
    return scalar(c, "SELECT count(*) FROM " + t);
  }
};

TEST_F(Limits, ExactlyThreeThousandRowsCommit) {
  connection c = open();
  const std::string t = table(c);
  c.exec("BEGIN");
  EXPECT_EQ(
      c.exec("INSERT INTO " + t + " SELECT g, g FROM generate_series(1, 3000) g").command_tag(),
      "INSERT 0 3000");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  EXPECT_EQ(rows_in(c, t), "3000");
  // In autocommit too, and an UPDATE of all of them.
  EXPECT_EQ(c.exec("UPDATE " + t + " SET v = v + 1").command_tag(), "UPDATE 3000");
}

TEST_F(Limits, TheStatementThatCrossesThreeThousandRowsFails) {
  connection c = open();
  const std::string t = table(c);
  c.exec("BEGIN");
  EXPECT_EQ(
      c.exec("INSERT INTO " + t + " SELECT g, g FROM generate_series(1, 2000) g").command_tag(),
      "INSERT 0 2000");
  EXPECT_EQ(
      c.exec("INSERT INTO " + t + " SELECT g, g FROM generate_series(2001, 2999) g").command_tag(),
      "INSERT 0 999");
  EXPECT_TRUE(
      fails_with(c, "INSERT INTO " + t + " VALUES (3000, 0), (3001, 0)", "54000", row_limit));
  EXPECT_TRUE(transaction_aborted(c));
  EXPECT_EQ(rows_in(c, t), "0");
}

TEST_F(Limits, ThreeThousandAndOneRowsFailInAutocommitAndLeaveNothing) {
  connection c = open();
  const std::string t = table(c);
  EXPECT_TRUE(fails_with(c, "INSERT INTO " + t + " SELECT g, g FROM generate_series(1, 3001) g",
                         "54000", row_limit));
  EXPECT_FALSE(c.in_transaction());
  EXPECT_EQ(rows_in(c, t), "0");
  // UPDATE and DELETE count the same way.
  c.exec("INSERT INTO " + t + " SELECT g, g FROM generate_series(1, 3000) g");
  c.exec("INSERT INTO " + t + " VALUES (3001, 3001)");
  EXPECT_TRUE(fails_with(c, "UPDATE " + t + " SET v = 0", "54000", row_limit));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t + " WHERE v = 0"), "0");
  EXPECT_TRUE(fails_with(c, "DELETE FROM " + t, "54000", row_limit));
  EXPECT_EQ(rows_in(c, t), "3001");
  EXPECT_EQ(c.exec("DELETE FROM " + t + " WHERE id > 1").command_tag(), "DELETE 3000");
}

TEST_F(Limits, TenMebibytesAreCheckedAtCommit) {
  connection c = open();
  const std::string t = wide_table(c);
  // 14 rows of 896,000 bytes: about 12 MiB, well under 3,000 rows.
  c.exec("BEGIN");
  EXPECT_EQ(c.exec(insert_wide(t, 14, big_value)).command_tag(), "INSERT 0 14");
  const auto e = sql_error_of([&] { c.exec("COMMIT"); });
  EXPECT_TRUE(matches(e, "COMMIT", "54000", "transaction size limit 10mb exceeded"));
  if (e) {
    EXPECT_TRUE(starts_with(e->detail(), "Current transaction size ")) << e->detail();
    EXPECT_TRUE(ends_with(e->detail(), "mb > 10mb")) << e->detail();
  }
  EXPECT_FALSE(c.in_transaction());
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "0");

  // In autocommit the statement's own commit fails.
  EXPECT_TRUE(fails_with(c, insert_wide(t, 14, big_value), "54000",
                         "transaction size limit 10mb exceeded"));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "0");

  // About 5 MiB commits.
  c.exec("BEGIN");
  c.exec(insert_wide(t, 6, big_value));
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "6");
}

TEST_F(Limits, ATransactionOlderThanTwoSecondsIsFineUnderTheDefaultAge) {
  connection c = open();
  const std::string t = table(c);
  c.exec("BEGIN");
  c.exec("INSERT INTO " + t + " VALUES (1, 1)");
  outlive_two_seconds();
  EXPECT_EQ(scalar(c, "SELECT v FROM " + t), "1");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  EXPECT_EQ(rows_in(c, t), "1");
}

TEST(LimitOptions, MaxTransactionRowsShrinksTheRowLimit) {
  local_endpoint::options o;
  o.extra_args = {"--max-transaction-rows", "10"};
  local_endpoint ep(o);
  connection c = dsql::connect(ep.config());
  c.exec("CREATE TABLE r (id int PRIMARY KEY)");
  c.exec("BEGIN");
  EXPECT_EQ(c.exec("INSERT INTO r SELECT generate_series(1, 10)").command_tag(), "INSERT 0 10");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  c.exec("BEGIN");
  c.exec("INSERT INTO r SELECT generate_series(11, 15)");
  EXPECT_TRUE(fails_with(c, "INSERT INTO r SELECT generate_series(16, 21)", "54000", row_limit));
  EXPECT_TRUE(transaction_aborted(c));
  EXPECT_TRUE(fails_with(c, "INSERT INTO r SELECT generate_series(100, 110)", "54000", row_limit));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM r"), "10");
}

TEST(LimitOptions, MaxTransactionSizeInKilobytes) {
  local_endpoint::options o;
  o.extra_args = {"--max-transaction-size", "102400"};  // 100 kB: not whole mebibytes
  local_endpoint ep(o);
  connection c = dsql::connect(ep.config());
  const std::string t = wide_table(c);
  // 20 rows of 1,024 bytes fit; 200 do not.
  c.exec("BEGIN");
  c.exec(insert_wide(t, 20, 32));
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  c.exec("BEGIN");
  c.exec(insert_wide(t, 200, 32, 1000));
  const auto e = sql_error_of([&] { c.exec("COMMIT"); });
  EXPECT_TRUE(matches(e, "COMMIT", "54000", "transaction size limit 100kb exceeded"));
  if (e) {
    EXPECT_TRUE(starts_with(e->detail(), "Current transaction size ")) << e->detail();
    EXPECT_TRUE(ends_with(e->detail(), "kb > 100kb")) << e->detail();
  }
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "20");
}

TEST(LimitOptions, MaxTransactionSizeInMegabytes) {
  local_endpoint::options o;
  o.extra_args = {"--max-transaction-size", "2097152"};  // 2 MiB
  local_endpoint ep(o);
  connection c = dsql::connect(ep.config());
  const std::string t = wide_table(c);
  c.exec("BEGIN");
  c.exec(insert_wide(t, 1, big_value));
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
  c.exec("BEGIN");
  c.exec(insert_wide(t, 4, big_value, 10));
  const auto e = sql_error_of([&] { c.exec("COMMIT"); });
  EXPECT_TRUE(matches(e, "COMMIT", "54000", "transaction size limit 2mb exceeded"));
  if (e) {
    EXPECT_TRUE(ends_with(e->detail(), "mb > 2mb")) << e->detail();
  }
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "1");
}

TEST(LimitOptions, MaxTransactionAgeEndsOldTransactions) {
  local_endpoint::options o;
  o.extra_args = {"--max-transaction-age", "2"};
  local_endpoint ep(o);
  connection c = dsql::connect(ep.config());
  c.exec("CREATE TABLE aged (id int PRIMARY KEY)");

  // The next statement after the limit fails, and the block is aborted.
  c.exec("BEGIN");
  c.exec("INSERT INTO aged VALUES (1)");
  outlive_two_seconds();
  const auto e = sql_error_of([&] { c.exec("SELECT count(*) FROM aged"); });
  EXPECT_TRUE(matches(e, "a statement after 2 s", "54000", "transaction age limit of 2s exceeded"));
  if (e) {
    EXPECT_TRUE(starts_with(e->detail(), "Current transaction age ")) << e->detail();
    EXPECT_TRUE(ends_with(e->detail(), "s exceeds 2s")) << e->detail();
  }
  EXPECT_TRUE(transaction_aborted(c));

  // Or COMMIT fails, and nothing is committed.
  c.exec("BEGIN");
  c.exec("INSERT INTO aged VALUES (2)");
  outlive_two_seconds();
  EXPECT_TRUE(fails_with(c, "COMMIT", "54000", "transaction age limit of 2s exceeded"));
  EXPECT_FALSE(c.in_transaction());
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM aged"), "0");
}

}  // namespace
}  // namespace dsql::test
