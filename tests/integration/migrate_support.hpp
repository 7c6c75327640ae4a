#pragma once

// What the migration and load integration tests share: a directory of files that goes away, and
// a pool on a dsql local endpoint for checking what happened.

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "dsql/dsql.hpp"
#include "local_endpoint.hpp"
#include "support/scratch_dir.hpp"

namespace dsql::test {

// A dsql local endpoint and a pool on it for a whole test suite; each Suite gets its own.
template <class Suite>
class endpoint_suite : public ::testing::Test {
 protected:
  static void start(local_endpoint::options options = {}, pool_options pool_opts = {}) {
    endpoint_ = std::make_unique<local_endpoint>(std::move(options));
    pool_ = std::make_unique<pool>(endpoint_->config(), pool_opts);
  }
  static void TearDownTestSuite() {
    pool_.reset();
    endpoint_.reset();
  }
  static std::unique_ptr<local_endpoint> endpoint_;
  static std::unique_ptr<pool> pool_;
};
template <class Suite>
std::unique_ptr<local_endpoint> endpoint_suite<Suite>::endpoint_;
template <class Suite>
std::unique_ptr<pool> endpoint_suite<Suite>::pool_;

// Queries for checks, retried as any client must after DDL (OC001).
inline std::string query_value(pool& p, const std::string& sql) {
  const result r = exec_with_retry(p, sql);
  return r.rows() && !r.is_null(0, 0) ? std::string(r.value(0, 0)) : std::string();
}

// INSERT INTO table VALUES (first, 'vfirst'), ... for `rows` rows.
inline std::string insert_rows(const std::string& table, int first, int rows) {
  std::string sql = "INSERT INTO " + table + " VALUES ";
  for (int i = first; i < first + rows; ++i) {
    sql += (i > first ? ", (" : "(") + std::to_string(i) + ", 'v" + std::to_string(i % 97) + "')";
  }
  return sql + ";\n";
}

// Options with a history of the test's own (h_<name>, l_<name>), so that tests do not see each
// other's, and quick retries.
inline migrate_options migrate_test_options(const std::string& name) {
  migrate_options o;
  o.history_table = "h_" + name;
  o.lock_table = "l_" + name;
  o.retry.initial_backoff = std::chrono::milliseconds(2);
  o.retry.max_backoff = std::chrono::milliseconds(20);
  return o;
}

// Two versions: a table, 3,600 rows in three INSERTs (more than one transaction holds), an
// async index; a column, a statement whose rows the text does not give, another table.
inline void write_migration_set(const scratch_dir& d, const std::string& s) {
  d.write("V1__create_" + s + ".sql",
          "-- a table and its rows\nCREATE TABLE t_" + s + " (id bigint PRIMARY KEY, v text);\n" +
              insert_rows("t_" + s, 0, 1200) + insert_rows("t_" + s, 1200, 1200) +
              insert_rows("t_" + s, 2400, 1200) + "CREATE INDEX ASYNC t_" + s + "_v ON t_" + s +
              " (v);\n");
  d.write("V2__more_" + s + ".sql", "ALTER TABLE t_" + s + " ADD COLUMN w text;\nCREATE TABLE u_" +
                                        s + " (id bigint PRIMARY KEY);\nINSERT INTO u_" + s +
                                        " SELECT id FROM t_" + s + " WHERE id < 5;\n");
}

// What write_migration_set leaves, applied exactly once with migrate_test_options(s).
inline void expect_set_applied_once(pool& p, const std::string& s) {
  EXPECT_EQ(query_value(p, "SELECT count(*) FROM t_" + s), "3600");
  EXPECT_EQ(query_value(p, "SELECT count(*) FROM u_" + s), "5");
  EXPECT_EQ(query_value(
                p, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_" + s + "_v'::regclass"),
            "t");
  EXPECT_EQ(query_value(p, "SELECT count(*) FROM pg_attribute WHERE attrelid = 't_" + s +
                               "'::regclass AND attname = 'w'"),
            "1");
  EXPECT_EQ(query_value(p,
                        "SELECT string_agg(version || ':' || state || ':' || "
                        "applied_statements, ',' ORDER BY version) FROM h_" +
                            s),
            "1:applied:5,2:applied:3");
}

}  // namespace dsql::test
