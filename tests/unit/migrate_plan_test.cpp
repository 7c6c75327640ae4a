// dsql migrate without a server: file discovery and ordering, checksums, statement splitting and
// classification with libpg_query, transactions, and what DSQL is known to refuse.

#include <gtest/gtest.h>

#include <filesystem>

#include "dsql/migrate.hpp"
#include "migrate/migrate_internal.hpp"
#include "sigv4/sigv4.hpp"
#include "support/scratch_dir.hpp"

namespace dsql {
namespace {

namespace fs = std::filesystem;

using test::scratch_dir;

detail::analysed_migration analyse(const std::string& sql) {
  scratch_dir d;
  migration_file f;
  f.version = "1";
  f.name = "t";
  f.path = d.write("V1__t.sql", sql);
  return detail::analyse_migration(f);
}

std::vector<detail::parsed_statement> parse(const std::string& sql) {
  return detail::parse_statements(sql, "V1__t.sql");
}

TEST(migrate_versions, compare_part_by_part_numerically) {
  EXPECT_LT(compare_versions("1", "1.1"), 0);
  EXPECT_LT(compare_versions("1.2", "1.10"), 0);
  EXPECT_LT(compare_versions("1.10", "2"), 0);
  EXPECT_EQ(compare_versions("1", "1.0"), 0);
  EXPECT_EQ(compare_versions("01_2", "1.2"), 0);
  EXPECT_GT(compare_versions("100000000000000000000001", "100000000000000000000000"), 0);
  for (const char* bad : {"", "1..2", "1.", "a", "1-2", ".1"}) {
    EXPECT_THROW(compare_versions(bad, "1"), migration_error) << bad;
  }
}

TEST(migrate_files, found_in_version_order_and_others_ignored) {
  scratch_dir d;
  d.write("V10__ten.sql", "SELECT 10");
  d.write("V2__two.sql", "SELECT 2");
  d.write("V1.1__one_one.sql", "SELECT 11");
  d.write("README.md", "not a migration");
  d.write("notes.sql", "-- not a migration either");
  const auto files = find_migrations(d.path());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].version, "1.1");
  EXPECT_EQ(files[0].name, "one_one");
  EXPECT_EQ(files[1].version, "2");
  EXPECT_EQ(files[2].version, "10");
  EXPECT_EQ(files[1].checksum, sigv4::sha256_hex("SELECT 2"));
  EXPECT_EQ(files[2].path, d.path() + "/V10__ten.sql");
}

TEST(migrate_files, malformed_names_duplicates_and_missing_directories_are_errors) {
  {
    scratch_dir d;
    d.write("V1_create.sql", "SELECT 1");
    try {
      find_migrations(d.path());
      FAIL();
    } catch (const migration_error& e) {
      EXPECT_NE(std::string(e.what()).find("V<version>__<name>.sql"), std::string::npos)
          << e.what();
    }
  }
  {
    scratch_dir d;
    d.write("Vx__create.sql", "SELECT 1");
    EXPECT_THROW(find_migrations(d.path()), migration_error);
  }
  {
    scratch_dir d;
    d.write("V1__a.sql", "SELECT 1");
    d.write("V1.0__b.sql", "SELECT 1");
    try {
      find_migrations(d.path());
      FAIL();
    } catch (const migration_error& e) {
      EXPECT_NE(std::string(e.what()).find("two migrations have version 1"), std::string::npos)
          << e.what();
    }
  }
  try {
    find_migrations("/nonexistent/migrations");
    FAIL();
  } catch (const migration_error& e) {
    EXPECT_NE(std::string(e.what()).find("'/nonexistent/migrations' cannot be read"),
              std::string::npos)
        << e.what();
  }
  scratch_dir d;
  EXPECT_THROW(find_migrations(d.write("file", "x")), migration_error);
  EXPECT_TRUE(find_migrations(d.path()).size() == 0);
}

TEST(migrate_files, a_migration_that_cannot_be_read_is_named) {
  scratch_dir d;
  fs::create_directory(d.path() + "/V1__dir.sql");
  try {
    find_migrations(d.path());
    FAIL();
  } catch (const migration_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

TEST(migrate_parse, splits_on_top_level_semicolons_with_lines) {
  const auto s = parse(
      "-- heading\nCREATE TABLE t (a text DEFAULT 'x;y');\n\n"
      "INSERT INTO t VALUES ($$a;b$$), (E'c\\';d');\n"
      "/* block; comment */ SELECT 1;;\n  CREATE INDEX ASYNC t_a ON t (a)");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].line, 2u);
  EXPECT_EQ(s[0].text, "CREATE TABLE t (a text DEFAULT 'x;y')");
  EXPECT_EQ(s[0].node, "CreateStmt");
  EXPECT_EQ(s[1].line, 4u);
  EXPECT_EQ(s[1].node, "InsertStmt");
  EXPECT_EQ(s[2].line, 5u);
  EXPECT_EQ(s[2].text, "SELECT 1");
  EXPECT_EQ(s[3].line, 6u);
  EXPECT_EQ(s[3].node, "IndexStmt");
  EXPECT_EQ(s[3].async.kind, sql_text::async_kind::create_index);
}

TEST(migrate_parse, syntax_errors_name_the_file_and_line) {
  try {
    parse("SELECT 1;\n\nCREATE TABLE t (a int,,);\n");
    FAIL();
  } catch (const migration_error& e) {
    EXPECT_EQ(e.line(), 3u);
    EXPECT_EQ(e.file(), "V1__t.sql");
    EXPECT_NE(std::string(e.what()).find("V1__t.sql:3: "), std::string::npos) << e.what();
  }
  try {
    parse("SELECT 1;\nCREATE UNIQUE INDEX ASYNC i ON t (a,,)");
    FAIL();
  } catch (const migration_error& e) {
    EXPECT_EQ(e.line(), 2u) << e.what();
  }
  try {
    parse("SELECT 'unterminated\n\n");
    FAIL();
  } catch (const migration_error& e) {
    EXPECT_EQ(e.line(), 1u) << e.what();
  }
}

TEST(migrate_classify, kinds_rows_and_probes) {
  const auto m = analyse(
      "CREATE TABLE IF NOT EXISTS a (id bigint PRIMARY KEY);\n"
      "CREATE TABLE b (id bigint PRIMARY KEY);\n"
      "INSERT INTO a VALUES (1), (2), (3);\n"
      "INSERT INTO a DEFAULT VALUES;\n"
      "INSERT INTO a SELECT id FROM b;\n"
      "UPDATE a SET id = id + 1;\n"
      "SELECT count(*) FROM a;\n"
      "CREATE INDEX ASYNC a_id ON a (id);\n"
      "ALTER TABLE ASYNC a VALIDATE CONSTRAINT c;\n"
      "ANALYZE a;\n"
      "WITH d AS (DELETE FROM a RETURNING id) SELECT * FROM d;\n"
      "ALTER TABLE b ADD COLUMN c text;\n"
      "GRANT SELECT ON a TO public;\n");
  using k = migration_statement_kind;
  const auto& s = m.plan.statements;
  ASSERT_EQ(s.size(), 13u);
  EXPECT_EQ(s[0].kind, k::ddl);
  EXPECT_TRUE(m.facts[0].idempotent);
  EXPECT_EQ(s[1].kind, k::ddl);
  ASSERT_TRUE(m.facts[1].probe);
  EXPECT_EQ(m.facts[1].probe->sql, "SELECT to_regclass($1) IS NOT NULL");
  EXPECT_EQ(m.facts[1].probe->params, std::vector<std::string>{"\"b\""});
  EXPECT_EQ(s[2].kind, k::dml);
  EXPECT_EQ(s[2].rows, 3u);
  EXPECT_EQ(s[3].rows, 1u);
  EXPECT_FALSE(s[4].rows);
  EXPECT_FALSE(s[5].rows);
  EXPECT_EQ(s[6].kind, k::query);
  EXPECT_EQ(s[7].kind, k::async_ddl);
  EXPECT_EQ(m.facts[7].index_name, "\"a_id\"");
  EXPECT_EQ(s[8].kind, k::async_ddl);
  EXPECT_TRUE(m.facts[8].idempotent);
  EXPECT_EQ(s[9].kind, k::standalone);
  EXPECT_EQ(s[10].kind, k::dml);
  EXPECT_FALSE(s[10].rows);
  ASSERT_TRUE(m.facts[11].probe);
  EXPECT_NE(m.facts[11].probe->sql.find("pg_attribute"), std::string::npos);
  EXPECT_EQ(m.facts[11].probe->params, (std::vector<std::string>{"\"b\"", "c"}));
  EXPECT_TRUE(m.facts[12].idempotent);
  for (const auto& st : s) EXPECT_EQ(st.refusal, "") << st.sql;
}

TEST(migrate_plan, one_ddl_per_transaction_and_dml_within_the_row_limit) {
  std::string sql = "CREATE TABLE t (id bigint PRIMARY KEY, v text);\n";
  // 1,000-row inserts: three fit in a transaction with the history row, the fourth does not.
  for (int n = 0; n < 4; ++n) {
    sql += "INSERT INTO t VALUES ";
    for (int i = 0; i < 1000; ++i)
      sql += std::string(i ? ", " : "") + "(" + std::to_string(n * 1000 + i) + ", 'x')";
    sql += ";\n";
  }
  sql += "SELECT 1;\nUPDATE t SET v = 'y' WHERE id < 10;\nDELETE FROM t WHERE id = 1;\n";
  sql += "CREATE INDEX ASYNC t_v ON t (v);\nINSERT INTO t VALUES (9999, 'z');\n";
  const auto m = analyse(sql);
  const auto steps = detail::plan_steps(m, 0);
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_EQ(steps[0].kind, detail::step_kind::ddl);
  EXPECT_EQ(steps[1].kind, detail::step_kind::group);
  EXPECT_EQ(steps[1].first, 1u);
  EXPECT_EQ(steps[1].last, 2u);  // 2,000 rows: a third 1,000 would make 3,000 plus the record
  EXPECT_EQ(steps[2].first, 3u);
  EXPECT_EQ(steps[2].last, 5u);   // the fourth insert and the SELECT beside it
  EXPECT_EQ(steps[3].first, 6u);  // UPDATE: its rows are unknown, so alone
  EXPECT_EQ(steps[3].last, 6u);
  EXPECT_EQ(steps[4].first, 7u);
  EXPECT_EQ(steps[4].last, 7u);
  EXPECT_EQ(steps[5].kind, detail::step_kind::async_ddl);
  EXPECT_EQ(steps[6].first, 9u);
  EXPECT_EQ(m.plan.transactions, 7u);
  EXPECT_EQ(m.plan.statements[4].transaction, 2u);
  // A resumed run plans from where it stopped.
  const auto resumed = detail::plan_steps(m, 2);
  EXPECT_EQ(resumed[0].first, 2u);
  EXPECT_EQ(resumed[0].last, 3u);
}

TEST(migrate_plan, prefix_digests_change_only_from_the_edited_statement) {
  const auto a = analyse("CREATE TABLE t (a text);\nINSERT INTO t VALUES ('x');\nSELECT 1;");
  const auto b = analyse("-- a comment\nCREATE TABLE t (a text);\nINSERT INTO t VALUES ('y');");
  ASSERT_EQ(a.prefix_digest.size(), 4u);
  EXPECT_EQ(a.prefix_digest[1], b.prefix_digest[1]);
  EXPECT_NE(a.prefix_digest[2], b.prefix_digest[2]);
  EXPECT_NE(a.plan.file.checksum, b.plan.file.checksum);
}

struct refusal_case {
  const char* sql;
  const char* refusal;
};

class migrate_refusals : public ::testing::TestWithParam<refusal_case> {};

TEST_P(migrate_refusals, are_named_in_dsqls_words) {
  const auto m = analyse(GetParam().sql);
  ASSERT_EQ(m.plan.statements.size(), 1u);
  EXPECT_NE(m.plan.statements[0].refusal.find(GetParam().refusal), std::string::npos)
      << "got: " << m.plan.statements[0].refusal;
}

INSTANTIATE_TEST_SUITE_P(
    known, migrate_refusals,
    ::testing::Values(
        refusal_case{"TRUNCATE t", "unsupported statement: Truncate"},
        refusal_case{"CREATE EXTENSION pgcrypto", "unsupported statement: CreateExtension"},
        refusal_case{"CREATE INDEX i ON t (a)", "unsupported mode. please use CREATE INDEX ASYNC."},
        refusal_case{"CREATE INDEX CONCURRENTLY i ON t (a)", "CONCURRENTLY not supported"},
        refusal_case{"CREATE INDEX ASYNC i ON t (a DESC)", "specifying sort order not supported"},
        refusal_case{"CREATE INDEX ASYNC i ON t USING hash (a)", "USING not supported"},
        refusal_case{"CREATE TABLE t (id serial PRIMARY KEY)", "type \"serial\" does not exist"},
        refusal_case{"CREATE TABLE t (a integer[])", "datatype integer[] not supported"},
        refusal_case{"CREATE TABLE t (a inet)", "datatype inet not supported"},
        refusal_case{"CREATE TEMP TABLE t (a text)", "TEMPORARY or TEMP table not supported"},
        refusal_case{"CREATE TABLE t (id integer GENERATED ALWAYS AS IDENTITY (CACHE 1))",
                     "identity column type must be bigint"},
        refusal_case{"CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY)",
                     "identity column is not supported without an explicit cache size"},
        refusal_case{"CREATE SEQUENCE s CACHE 10", "CREATE SEQUENCE is not supported"},
        refusal_case{"ALTER TABLE t ALTER COLUMN a TYPE bigint",
                     "unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement"},
        refusal_case{"ALTER TABLE t ADD COLUMN b text NOT NULL",
                     "ALTER TABLE ADD COLUMN with constraint not supported"},
        refusal_case{"ALTER TABLE t ADD PRIMARY KEY (a)",
                     "unsupported ALTER TABLE ADD CONSTRAINT statement"},
        refusal_case{"ALTER TABLE t ALTER COLUMN a SET NOT NULL",
                     "unsupported ALTER TABLE ALTER COLUMN ... SET NOT NULL statement"},
        refusal_case{"CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
                     "CREATE TRIGGER not supported"},
        refusal_case{"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN 1; END$$",
                     "CREATE FUNCTION with language plpgsql not supported"},
        refusal_case{"SELECT * FROM t FOR SHARE", "locking clauses other than FOR UPDATE"},
        refusal_case{"SELECT pg_advisory_lock(1)", "function pg_advisory_lock not supported"},
        refusal_case{"SELECT * FROM t TABLESAMPLE SYSTEM (1)", "TABLESAMPLE clause not supported"},
        refusal_case{"VACUUM t", "unsupported VACUUM statement"},
        refusal_case{"BEGIN", "transaction control in a migration file"},
        refusal_case{"SET search_path = app", "SET in a migration file"},
        refusal_case{"COPY t FROM STDIN", "load data with dsql load"},
        refusal_case{"COPY t FROM '/tmp/x'", "COPY to or from a file is not supported"},
        refusal_case{"SELECT * INTO u FROM t", "unsupported statement: CreateTableAs"},
        refusal_case{"DROP TYPE e", "unsupported object in DROP statement"}),
    [](const ::testing::TestParamInfo<refusal_case>& param) {
      return "case_" + std::to_string(param.index);
    });

TEST(migrate_refusals, an_insert_over_the_row_limit_is_refused_with_the_split_to_make) {
  std::string sql = "INSERT INTO t VALUES ";
  for (int i = 0; i < 3000; ++i) sql += std::string(i ? "," : "") + "(" + std::to_string(i) + ")";
  const auto m = analyse(sql);
  EXPECT_NE(m.plan.statements[0].refusal.find("writes 3,000 rows"), std::string::npos)
      << m.plan.statements[0].refusal;
  EXPECT_NE(m.plan.statements[0].refusal.find("at most 2,999 rows"), std::string::npos);
}

TEST(migrate_refusals, what_dsql_allows_is_not_refused) {
  for (const char* sql :
       {"CREATE TABLE t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), a varchar(10), "
        "b timestamptz, c numeric(10, 2), d jsonb, e double precision)",
        "CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 65536) PRIMARY KEY)",
        "CREATE SEQUENCE s CACHE 1", "CREATE UNIQUE INDEX ASYNC i ON t (a, b)",
        "ALTER TABLE t ADD COLUMN b text", "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
        "ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX i", "SELECT * FROM t FOR UPDATE",
        "CREATE VIEW v AS SELECT 1", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE TABLE t (a my_domain)", "ANALYZE t"}) {
    const auto m = analyse(sql);
    EXPECT_EQ(m.plan.statements.at(0).refusal, "") << sql;
  }
}

TEST(migrate_plan, plan_migrations_lists_files_up_to_the_target) {
  scratch_dir d;
  d.write("V1__a.sql", "CREATE TABLE a (id bigint PRIMARY KEY);");
  d.write("V2__b.sql", "CREATE TABLE b (id bigint PRIMARY KEY);\nTRUNCATE b;");
  d.write("V3__c.sql", "SELECT 1;");
  migrate_options o;
  o.target_version = "2";
  const auto plan = plan_migrations(d.path(), o);
  ASSERT_EQ(plan.migrations.size(), 2u);
  const auto refused = plan.refused();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]->line, 2u);
  o.target_version = "x";
  EXPECT_THROW(plan_migrations(d.path(), o), migration_error);
}

TEST(migrate_plan, history_table_names_are_checked) {
  EXPECT_EQ(detail::checked_table_name("app.dsql_history", "history_table"), "app.dsql_history");
  for (const char* bad : {"", "a;b", "A", "a.b.c", ".a", "a.", "1a", "a.1b", "a b"}) {
    EXPECT_THROW(detail::checked_table_name(bad, "history_table"), migration_error) << bad;
  }
}

}  // namespace
}  // namespace dsql
