// DSQL's types and SQL dialect as `dsql local` applies them: column types, serial, domains,
// sequences and identity columns, TABLESAMPLE, MERGE, locking clauses, text search, what works at
// runtime only, advisory locks. Sources: reference/dsql-server.md §3.1, §4.2-4.3,
// /tmp/dsql_research/facts.md 3.3 and 3.5, dsql_cluster_probes.json (types, queries, occ).

#include <gtest/gtest.h>

#include <utility>

#include "local_rules.hpp"

namespace dsql::test {
namespace {

constexpr const char* sequence_cache =
    "CREATE SEQUENCE is not supported without an explicit cache size. please define CACHE "
    "greater than or equal to 65536 or equal to 1";
constexpr const char* identity_cache =
    "identity column is not supported without an explicit cache size. please define CACHE "
    "greater than or equal to 65536 or equal to 1";
constexpr const char* locking_clause =
    "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported";

class Dialect : public shared_endpoint<Dialect> {
 protected:
  static std::string table(connection& c) {
    const std::string name = fresh_name("dia");
    c.exec("CREATE TABLE " + name + " (id int PRIMARY KEY, v text)");
    c.exec("INSERT INTO " + name + " VALUES (1, 'a'), (2, 'b')");
    return name;
  }
};

TEST_F(Dialect, UnsupportedColumnTypesAreNamedAsPostgresqlShowsThem) {
  connection c = open();
  // Type as written, type as PostgreSQL displays it.
  const std::vector<std::pair<const char*, const char*>> types = {
      {"money", "money"},
      {"xml", "xml"},
      {"inet", "inet"},
      {"cidr", "cidr"},
      {"macaddr", "macaddr"},
      {"point", "point"},
      {"tsvector", "tsvector"},
      {"int4range", "int4range"},
      {"bit", "bit"},
      {"varbit", "bit varying"},
      {"int[]", "integer[]"},
      {"text[]", "text[]"},
      {"integer[][]", "integer[]"},
      {"varchar(10)[]", "character varying[]"},
  };
  for (const auto& [written, shown] : types) {
    const std::string t = fresh_name("dia_type");
    EXPECT_TRUE(fails_with(c, "CREATE TABLE " + t + " (id int, v " + written + ")", "0A000",
                           std::string("datatype ") + shown + " not supported"));
    EXPECT_FALSE(relation_exists(c, t));
  }
  // DSQL's own types make a table, and values go in and out.
  const std::string t = fresh_name("dia_types_ok");
  EXPECT_TRUE(runs(c, "CREATE TABLE " + t +
                          " (a smallint, b integer, c bigint, d real, e double precision, "
                          "f numeric(10,2), g char(3), h varchar(20), i text, j date, k time, "
                          "l timetz, m timestamp, n timestamptz, o interval, p boolean, q bytea, "
                          "r uuid, s json, u jsonb)"));
  EXPECT_TRUE(runs(c, "INSERT INTO " + t +
                          " VALUES (1, 2, 3, 1.5, 2.5, 3.25, 'abc', 'vc', 'txt', '2026-01-02', "
                          "'03:04:05', '03:04:05+00', '2026-01-02 03:04:05', "
                          "'2026-01-02 03:04:05+00', '1 day', true, '\\x0102', "
                          "'00000000-0000-0000-0000-000000000001', '{\"a\":1}', '{\"b\":2}')"));
  EXPECT_EQ(scalar(c, "SELECT f::text || g || (u->>'b') FROM " + t), "3.25abc2");
}

TEST_F(Dialect, SerialIsAnUnknownType) {
  connection c = open();
  for (const char* serial : {"serial", "bigserial", "smallserial"}) {
    EXPECT_TRUE(fails_with(c, "CREATE TABLE " + fresh_name("dia_serial") + " (id " + serial + ")",
                           "42704", std::string("type \"") + serial + "\" does not exist"));
  }
  // What DSQL offers instead: a bigint identity with an explicit cache, or a UUID default.
  const std::string t = fresh_name("dia_ids");
  EXPECT_TRUE(runs(c, "CREATE TABLE " + t +
                          " (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY, "
                          "u uuid DEFAULT gen_random_uuid(), v text)"));
  EXPECT_EQ(scalar(c, "INSERT INTO " + t + " (v) VALUES ('a') RETURNING id"), "1");
  EXPECT_EQ(scalar(c, "INSERT INTO " + t + " (v) VALUES ('b') RETURNING id"), "2");
}

TEST_F(Dialect, DomainsOverSupportedTypesAreAllowed) {
  connection c = open();
  const std::string domain = fresh_name("dia_positive");
  EXPECT_EQ(c.exec("CREATE DOMAIN " + domain + " AS integer CHECK (VALUE > 0)").command_tag(),
            "CREATE DOMAIN");
  const std::string t = fresh_name("dia_domain_table");
  EXPECT_TRUE(runs(c, "CREATE TABLE " + t + " (id int PRIMARY KEY, n " + domain + ")"));
  EXPECT_TRUE(runs(c, "INSERT INTO " + t + " VALUES (1, 5)"));
  EXPECT_EQ(scalar(c, "SELECT n FROM " + t), "5");
  // A domain is no way around the type rules.
  EXPECT_TRUE(fails_with(c, "CREATE DOMAIN " + fresh_name("dia_money") + " AS money", "0A000",
                         "datatype money not supported"));
}

TEST_F(Dialect, SequencesNeedCacheOneOrAtLeast65536) {
  connection c = open();
  const std::string one = fresh_name("dia_seq"), big = fresh_name("dia_seq");
  EXPECT_EQ(c.exec("CREATE SEQUENCE " + one + " CACHE 1").command_tag(), "CREATE SEQUENCE");
  EXPECT_EQ(c.exec("CREATE SEQUENCE " + big + " CACHE 65536").command_tag(), "CREATE SEQUENCE");
  EXPECT_TRUE(runs(c, "CREATE SEQUENCE " + fresh_name("dia_seq") + " START 10 CACHE 100000"));
  EXPECT_EQ(scalar(c, "SELECT nextval('" + one + "')"), "1");
  EXPECT_EQ(scalar(c, "SELECT nextval('" + one + "')"), "2");
  EXPECT_TRUE(fails_with(c, "CREATE SEQUENCE " + fresh_name("dia_seq"), "0A000", sequence_cache));
  EXPECT_TRUE(fails_with(c, "CREATE SEQUENCE " + fresh_name("dia_seq") + " CACHE 100", "0A000",
                         sequence_cache));
  EXPECT_TRUE(fails_with(c, "CREATE SEQUENCE " + fresh_name("dia_seq") + " CACHE 65535", "0A000",
                         sequence_cache));
}

TEST_F(Dialect, IdentityColumnsMustBeBigintWithAnExplicitCache) {
  connection c = open();
  EXPECT_TRUE(runs(c, "CREATE TABLE " + fresh_name("dia_ident") +
                          " (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 65536) PRIMARY KEY)"));
  EXPECT_TRUE(runs(c, "CREATE TABLE " + fresh_name("dia_ident") +
                          " (id bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 1) PRIMARY KEY)"));
  EXPECT_TRUE(fails_with(c,
                         "CREATE TABLE " + fresh_name("dia_ident") +
                             " (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY)",
                         "0A000", identity_cache));
  EXPECT_TRUE(fails_with(c,
                         "CREATE TABLE " + fresh_name("dia_ident") +
                             " (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 10) PRIMARY KEY)",
                         "0A000", identity_cache));
  EXPECT_TRUE(fails_with(c,
                         "CREATE TABLE " + fresh_name("dia_ident") +
                             " (id integer GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY)",
                         "0A000",
                         "datatype integer not supported, identity column type must be bigint"));
  EXPECT_TRUE(fails_with(c,
                         "CREATE TABLE " + fresh_name("dia_ident") +
                             " (id smallint GENERATED BY DEFAULT AS IDENTITY (CACHE 1))",
                         "0A000",
                         "datatype smallint not supported, identity column type must be bigint"));
}

TEST_F(Dialect, TablesampleIsRefused) {
  connection c = open();
  const std::string t = table(c);
  EXPECT_TRUE(fails_with(c, "SELECT * FROM " + t + " TABLESAMPLE SYSTEM (50)", "0A000",
                         "TABLESAMPLE clause not supported"));
  EXPECT_TRUE(fails_with(c, "SELECT * FROM " + t + " TABLESAMPLE BERNOULLI (10)", "0A000",
                         "TABLESAMPLE clause not supported"));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM (SELECT * FROM " + t + " ORDER BY random() LIMIT 1) s"),
            "1");
}

TEST_F(Dialect, MergeIsRefusedUpsertIsNot) {
  connection c = open();
  const std::string t = table(c);
  EXPECT_TRUE(fails_with(c,
                         "MERGE INTO " + t +
                             " d USING (VALUES (1, 'z')) s(id, v) ON d.id = s.id "
                             "WHEN MATCHED THEN UPDATE SET v = s.v",
                         "0A000", "unsupported statement type: MERGE"));
  EXPECT_EQ(scalar(c, "SELECT v FROM " + t + " WHERE id = 1"), "a");
  EXPECT_EQ(
      c.exec("INSERT INTO " + t + " VALUES (1, 'z') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v")
          .command_tag(),
      "INSERT 0 1");
  EXPECT_EQ(scalar(c, "SELECT v FROM " + t + " WHERE id = 1"), "z");
}

TEST_F(Dialect, OnlyForUpdateAndForKeyShareLockRows) {
  connection c = open();
  const std::string t = table(c);
  const std::string select = "SELECT v FROM " + t + " WHERE id = 1 ";
  EXPECT_TRUE(fails_with(c, select + "FOR SHARE", "0A000", locking_clause));
  EXPECT_TRUE(fails_with(c, select + "FOR NO KEY UPDATE", "0A000", locking_clause));
  EXPECT_TRUE(fails_with(c, "SELECT v FROM (" + select + "FOR SHARE) s", "0A000", locking_clause));
  EXPECT_EQ(scalar(c, select + "FOR UPDATE"), "a");
  EXPECT_EQ(scalar(c, select + "FOR KEY SHARE"), "a");
  c.exec("BEGIN");
  EXPECT_EQ(scalar(c, select + "FOR UPDATE"), "a");
  EXPECT_EQ(scalar(c, select + "FOR KEY SHARE"), "a");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
}

TEST_F(Dialect, OnlyTheSimpleTextSearchConfigurationExists) {
  connection c = open();
  EXPECT_TRUE(fails_with(c, "SELECT to_tsvector('english', 'hello world')", "42704",
                         "text search configuration \"english\" does not exist"));
  EXPECT_TRUE(fails_with(c, "SELECT websearch_to_tsquery('english', 'hello')", "42704",
                         "text search configuration \"english\" does not exist"));
  EXPECT_TRUE(fails_with(c, "SELECT to_tsvector('german', 'Hallo Welt')", "42704",
                         "text search configuration \"german\" does not exist"));
  EXPECT_EQ(scalar(c, "SELECT to_tsvector('simple', 'hello world')::text"), "'hello':1 'world':2");
  EXPECT_EQ(scalar(c,
                   "SELECT to_tsvector('simple', 'hello world') @@ to_tsquery('simple', "
                   "'world')"),
            "t");
}

TEST_F(Dialect, ArraysInetAndJsonWorkAtRuntime) {
  connection c = open();
  EXPECT_EQ(scalar(c, "SELECT ARRAY[1, 2, 3]"), "{1,2,3}");
  EXPECT_EQ(scalar(c, "SELECT string_to_array('1,2,3', ',')"), "{1,2,3}");
  EXPECT_EQ(scalar(c, "SELECT (ARRAY[10, 20, 30])[2]"), "20");
  EXPECT_EQ(scalar(c, "SELECT 3 = ANY (ARRAY[1, 2, 3])"), "t");
  EXPECT_EQ(scalar(c, "SELECT '192.168.1.7'::inet << '192.168.1.0/24'::inet"), "t");
  EXPECT_EQ(scalar(c, "SELECT host('10.0.0.1/8'::inet)"), "10.0.0.1");
  EXPECT_EQ(scalar(c, "SELECT '{\"a\":{\"b\":[1,2]}}'::jsonb #>> '{a,b,1}'"), "2");
  EXPECT_EQ(scalar(c, "SELECT '{\"a\":1}'::json ->> 'a'"), "1");
  EXPECT_EQ(scalar(c, "SELECT '{\"a\":1, \"b\":2}'::jsonb ? 'b'"), "t");
  EXPECT_EQ(
      c.exec_params("SELECT array_length($1::int[], 1)", {std::string("{4,5,6}")}).value(0, 0),
      "3");
  // As stored columns they are refused.
  EXPECT_TRUE(fails_with(c, "CREATE TABLE " + fresh_name("dia_arr") + " (a int[])", "0A000",
                         "datatype integer[] not supported"));
  EXPECT_TRUE(fails_with(c, "CREATE TABLE " + fresh_name("dia_inet") + " (a inet)", "0A000",
                         "datatype inet not supported"));
}

TEST_F(Dialect, AdvisoryLockFunctionsAreRefused) {
  connection c = open();
  for (const char* fn : {"pg_advisory_lock", "pg_try_advisory_lock", "pg_advisory_xact_lock",
                         "pg_advisory_unlock"}) {
    EXPECT_TRUE(fails_with(c, std::string("SELECT ") + fn + "(42)", "0A000",
                           std::string("function ") + fn + " not supported"));
  }
  EXPECT_TRUE(fails_with(c, "SELECT pg_advisory_unlock_all()", "0A000",
                         "function pg_advisory_unlock_all not supported"));
  // Other pg_ functions are fine.
  EXPECT_EQ(scalar(c, "SELECT pg_typeof(1)::text"), "integer");
}

}  // namespace
}  // namespace dsql::test
