// DSQL's rules for ALTER TABLE and for the kinds of objects and statements it has, as
// `dsql local` applies them: each refused form next to the form DSQL accepts instead. Sources:
// reference/dsql-server.md §4.1-4.2, /tmp/dsql_research/facts.md Topic 3 (3.2, 3.3),
// dsql_cluster_probes.json (ddl-rules, truncate-triggers-temp).

#include <gtest/gtest.h>

#include "local_rules.hpp"

namespace dsql::test {
namespace {

constexpr const char* add_constraint = "unsupported ALTER TABLE ADD CONSTRAINT statement";
constexpr const char* add_column_constraint =
    "ALTER TABLE ADD COLUMN with constraint not supported";

class Objects : public shared_endpoint<Objects> {
 protected:
  static std::string table(connection& c, const std::string& columns =
                                              "id int PRIMARY KEY, a int, "
                                              "b text") {
    const std::string name = fresh_name("obj");
    c.exec("CREATE TABLE " + name + " (" + columns + ")");
    return name;
  }
};

TEST_F(Objects, AlterColumnTypeIsRefused) {
  connection c = open();
  const std::string t = table(c);
  EXPECT_TRUE(fails_with(c, "ALTER TABLE " + t + " ALTER COLUMN b TYPE varchar(20)", "0A000",
                         "unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement"));
  EXPECT_TRUE(fails_with(c, "ALTER TABLE " + t + " ALTER COLUMN a SET DATA TYPE bigint", "0A000",
                         "unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement"));
  // The column forms DSQL has work.
  EXPECT_TRUE(runs(c, "ALTER TABLE " + t + " ALTER COLUMN a SET DEFAULT 7"));
  EXPECT_TRUE(runs(c, "ALTER TABLE " + t + " ALTER COLUMN b SET STORAGE EXTERNAL"));
  EXPECT_TRUE(runs(c, "ALTER TABLE " + t + " RENAME COLUMN b TO c"));
  c.exec("INSERT INTO " + t + " (id, c) VALUES (1, 'x')");
  EXPECT_EQ(scalar(c, "SELECT a || c FROM " + t), "7x");
}

TEST_F(Objects, KeysCannotBeAddedToAnExistingTable) {
  connection c = open();
  const std::string t = table(c, "id int, a int");
  EXPECT_TRUE(fails_with(c, "ALTER TABLE " + t + " ADD CONSTRAINT " + t + "_pk PRIMARY KEY (id)",
                         "0A000", add_constraint));
  EXPECT_TRUE(fails_with(c, "ALTER TABLE " + t + " ADD CONSTRAINT " + t + "_uq UNIQUE (a)", "0A000",
                         add_constraint));
  EXPECT_TRUE(fails_with(c, "ALTER TABLE " + t + " ADD PRIMARY KEY (id)", "0A000", add_constraint));
  // A key is declared with the table, or built ASYNC and then attached.
  const std::string keyed = table(c, "id int PRIMARY KEY, a int UNIQUE");
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = '" + keyed +
                          "'::regclass AND contype IN ('p', 'u')"),
            "2");
  const std::string index = fresh_name("obj_uq");
  const std::string job = scalar(c, "CREATE UNIQUE INDEX ASYNC " + index + " ON " + t + " (a)");
  EXPECT_EQ(scalar(c, "CALL sys.wait_for_job('" + job + "')"), "t");
  EXPECT_TRUE(
      runs(c, "ALTER TABLE " + t + " ADD CONSTRAINT " + index + " UNIQUE USING INDEX " + index));
  EXPECT_EQ(scalar(c, "SELECT contype FROM pg_constraint WHERE conname = '" + index + "'"), "u");
}

TEST_F(Objects, ForeignKeysAndChecksNeedNotValid) {
  connection c = open();
  const std::string parent = table(c), child = table(c);
  EXPECT_TRUE(fails_with(c,
                         "ALTER TABLE " + child + " ADD CONSTRAINT " + child +
                             "_fk FOREIGN KEY (a) REFERENCES " + parent + " (id)",
                         "0A000", add_constraint));
  EXPECT_TRUE(fails_with(c,
                         "ALTER TABLE " + child + " ADD CONSTRAINT " + child + "_ck CHECK (a > 0)",
                         "0A000", add_constraint));
  EXPECT_TRUE(runs(c, "ALTER TABLE " + child + " ADD CONSTRAINT " + child +
                          "_fk FOREIGN KEY (a) REFERENCES " + parent + " (id) NOT VALID"));
  EXPECT_TRUE(
      runs(c, "ALTER TABLE " + child + " ADD CONSTRAINT " + child + "_ck CHECK (a > 0) NOT VALID"));
  EXPECT_EQ(scalar(c,
                   "SELECT string_agg(contype::text || ':' || convalidated, ',' ORDER BY contype) "
                   "FROM pg_constraint WHERE conrelid = '" +
                       child + "'::regclass AND contype IN ('c', 'f')"),
            "c:false,f:false");
  // Not valid means old rows are not checked; new rows are.
  EXPECT_TRUE(fails_with(
      c, "INSERT INTO " + child + " VALUES (1, -1, 'x')", "23514",
      "new row for relation \"" + child + "\" violates check constraint \"" + child + "_ck\""));
  EXPECT_TRUE(fails_with(c, "INSERT INTO " + child + " VALUES (1, 5, 'x')", "23503",
                         "insert or update on table \"" + child +
                             "\" violates foreign key constraint \"" + child + "_fk\""));
  // In CREATE TABLE both are fine as they are.
  EXPECT_TRUE(runs(c, "CREATE TABLE " + fresh_name("obj_inline") +
                          " (id int PRIMARY KEY, p int "
                          "REFERENCES " +
                          parent + " (id), q int CHECK (q > 0))"));
}

TEST_F(Objects, AddColumnTakesNoConstraintOrDefault) {
  connection c = open();
  const std::string t = table(c);
  for (const char* column : {"x int DEFAULT 0", "x int NOT NULL", "x int NOT NULL DEFAULT 0",
                             "x int CHECK (x > 0)", "x int UNIQUE", "x int PRIMARY KEY",
                             "x bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 1)"}) {
    EXPECT_TRUE(fails_with(c, "ALTER TABLE " + t + " ADD COLUMN " + column, "0A000",
                           add_column_constraint));
  }
  EXPECT_TRUE(fails_with(c, "ALTER TABLE " + t + " ADD COLUMN m money", "0A000",
                         "datatype money not supported"));
  EXPECT_EQ(c.exec("ALTER TABLE " + t + " ADD COLUMN x int").command_tag(), "ALTER TABLE");
  EXPECT_TRUE(runs(c, "ALTER TABLE " + t + " ADD COLUMN IF NOT EXISTS y text"));
  c.exec("INSERT INTO " + t + " (id, x, y) VALUES (1, 2, 'z')");
  EXPECT_EQ(scalar(c, "SELECT x || y FROM " + t), "2z");
}

TEST_F(Objects, APrimaryKeyColumnCannotBeDropped) {
  connection c = open();
  const std::string t = table(c);
  EXPECT_TRUE(fails_with(c, "ALTER TABLE " + t + " DROP COLUMN id", "0A000",
                         "cannot drop primary key column id"));
  EXPECT_TRUE(fails_with(c, "ALTER TABLE " + t + " DROP CONSTRAINT " + t + "_pkey", "0A000",
                         "unsupported ALTER TABLE DROP CONSTRAINT statement"));
  EXPECT_EQ(c.exec("ALTER TABLE " + t + " DROP COLUMN b").command_tag(), "ALTER TABLE");
  EXPECT_TRUE(fails_with(c, "SELECT b FROM " + t, "42703", "column \"b\" does not exist"));
}

TEST_F(Objects, TruncateIsRefusedDeleteIsNot) {
  connection c = open();
  const std::string t = table(c);
  c.exec("INSERT INTO " + t + " VALUES (1, 1, 'a'), (2, 2, 'b')");
  EXPECT_TRUE(fails_with(c, "TRUNCATE " + t, "0A000", "unsupported statement: Truncate"));
  EXPECT_TRUE(fails_with(c, "TRUNCATE TABLE " + t, "0A000", "unsupported statement: Truncate"));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM " + t), "2");
  EXPECT_EQ(c.exec("DELETE FROM " + t).command_tag(), "DELETE 2");
}

TEST_F(Objects, TriggersCannotBeCreated) {
  connection c = open();
  const std::string t = table(c);
  EXPECT_TRUE(fails_with(
      c, "CREATE TRIGGER " + t + "_trg AFTER INSERT ON " + t + " EXECUTE FUNCTION no_such_fn()",
      "0A000", "CREATE TRIGGER not supported"));
  // What DSQL does accept about triggers (awslabs/aurora-dsql-tools dsql-lint/grammar/
  // dsql_grammar.json, derived from statements a cluster ran): switching a table's (absent)
  // triggers on and off, and dropping one that is not there.
  EXPECT_TRUE(runs(c, "ALTER TABLE " + t + " DISABLE TRIGGER USER"));
  EXPECT_TRUE(runs(c, "ALTER TABLE " + t + " ENABLE TRIGGER ALL"));
  EXPECT_TRUE(runs(c, "DROP TRIGGER IF EXISTS " + t + "_trg ON " + t));
}

TEST_F(Objects, TemporaryAndUnloggedTablesAreRefused) {
  connection c = open();
  const std::string t = fresh_name("obj_persistence");
  EXPECT_TRUE(fails_with(c, "CREATE TEMPORARY TABLE " + t + " (id int)", "0A000",
                         "TEMPORARY or TEMP table not supported for CREATE TABLE"));
  EXPECT_TRUE(fails_with(c, "CREATE TEMP TABLE " + t + " (id int)", "0A000",
                         "TEMPORARY or TEMP table not supported for CREATE TABLE"));
  EXPECT_TRUE(fails_with(c, "CREATE UNLOGGED TABLE " + t + " (id int)", "0A000",
                         "UNLOGGED table not supported for CREATE TABLE"));
  EXPECT_FALSE(relation_exists(c, t));
  EXPECT_TRUE(runs(c, "CREATE TABLE " + t + " (id int)"));
  EXPECT_EQ(scalar(c, "SELECT relpersistence FROM pg_class WHERE oid = '" + t + "'::regclass"),
            "p");
}

TEST_F(Objects, CreateTableAsAndMaterializedViewsAreRefused) {
  connection c = open();
  const std::string t = table(c);
  const std::string derived = fresh_name("obj_derived");
  EXPECT_TRUE(fails_with(c, "CREATE TABLE " + derived + " AS SELECT * FROM " + t, "0A000",
                         "unsupported statement: CreateTableAs"));
  EXPECT_TRUE(fails_with(c, "CREATE MATERIALIZED VIEW " + derived + " AS SELECT * FROM " + t,
                         "0A000", "unsupported statement: CreateTableAs"));
  EXPECT_FALSE(relation_exists(c, derived));
  // A view, and a table filled by INSERT ... SELECT, are the way.
  EXPECT_EQ(c.exec("CREATE VIEW " + derived + " AS SELECT id FROM " + t).command_tag(),
            "CREATE VIEW");
  const std::string copy = table(c);
  EXPECT_EQ(c.exec("INSERT INTO " + copy + " SELECT * FROM " + t).command_tag(), "INSERT 0 0");
}

TEST_F(Objects, TypesCannotBeCreatedDomainsCan) {
  connection c = open();
  const std::string type = fresh_name("obj_type");
  EXPECT_TRUE(fails_with(c, "CREATE TYPE " + type + " AS ENUM ('sad', 'ok')", "0A000",
                         "CREATE TYPE not supported"));
  EXPECT_TRUE(fails_with(c, "CREATE TYPE " + type + " AS (a int, b text)", "0A000",
                         "unsupported statement: CompositeType"));
  EXPECT_TRUE(fails_with(c, "CREATE TYPE " + type + " AS RANGE (subtype = int4)", "0A000",
                         "unsupported statement: CreateRange"));
  EXPECT_TRUE(
      fails_with(c, "SELECT 'sad'::" + type, "42704", "type \"" + type + "\" does not exist"));
  EXPECT_EQ(
      c.exec("CREATE DOMAIN " + type + " AS text CHECK (VALUE IN ('sad', 'ok'))").command_tag(),
      "CREATE DOMAIN");
  const std::string t = table(c, "id int PRIMARY KEY, mood " + type);
  EXPECT_TRUE(runs(c, "INSERT INTO " + t + " VALUES (1, 'ok')"));
  EXPECT_TRUE(
      fails_with(c, "INSERT INTO " + t + " VALUES (2, 'glad')", "23514",
                 "value for domain " + type + " violates check constraint \"" + type + "_check\""));
}

TEST_F(Objects, ExtensionsCannotBeCreated) {
  connection c = open();
  EXPECT_TRUE(fails_with(c, "CREATE EXTENSION IF NOT EXISTS pgcrypto", "0A000",
                         "unsupported statement: CreateExtension"));
  EXPECT_TRUE(
      fails_with(c, "CREATE EXTENSION hstore", "0A000", "unsupported statement: CreateExtension"));
  // What DSQL has built in still works: gen_random_uuid() needs no extension.
  EXPECT_EQ(scalar(c, "SELECT length(gen_random_uuid()::text)"), "36");
}

TEST_F(Objects, VacuumIsRefusedAnalyzeIsNot) {
  connection c = open();
  const std::string t = table(c);
  EXPECT_TRUE(fails_with(c, "VACUUM " + t, "0A000", "unsupported VACUUM statement"));
  EXPECT_TRUE(fails_with(c, "VACUUM", "0A000", "unsupported VACUUM statement"));
  EXPECT_TRUE(fails_with(c, "VACUUM ANALYZE " + t, "0A000", "unsupported VACUUM statement"));
  EXPECT_EQ(c.exec("ANALYZE " + t).command_tag(), "ANALYZE");
}

TEST_F(Objects, ListenNotifyAndAlterSystemAreRefused) {
  connection c = open();
  EXPECT_TRUE(fails_with(c, "LISTEN obj_channel", "0A000", "unsupported statement: Listen"));
  EXPECT_TRUE(fails_with(c, "NOTIFY obj_channel", "0A000", "unsupported statement: Notify"));
  EXPECT_TRUE(fails_with(c, "UNLISTEN obj_channel", "0A000", "unsupported statement: Unlisten"));
  EXPECT_TRUE(fails_with(c, "ALTER SYSTEM SET work_mem = '8MB'", "0A000",
                         "unsupported statement: AlterSystem"));
  // The session is fine after each, and reading settings works.
  EXPECT_EQ(scalar(c, "SHOW transaction_isolation"), "repeatable read");
}

TEST_F(Objects, OnlySqlFunctionsCanBeCreated) {
  connection c = open();
  const std::string f = fresh_name("obj_fn");
  EXPECT_TRUE(fails_with(
      c, "CREATE FUNCTION " + f + "() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$",
      "0A000", "CREATE FUNCTION with language plpgsql not supported"));
  EXPECT_TRUE(fails_with(c, "CREATE PROCEDURE " + f + "() LANGUAGE sql AS $$ SELECT 1 $$", "0A000",
                         "PROCEDURE is not supported"));
  EXPECT_TRUE(fails_with(c, "DO $$ BEGIN PERFORM 1; END $$", "0A000", "unsupported statement: Do"));
  EXPECT_EQ(
      c.exec("CREATE FUNCTION " + f + "(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 1 $$")
          .command_tag(),
      "CREATE FUNCTION");
  EXPECT_EQ(scalar(c, "SELECT " + f + "(41)"), "42");
  const std::string g = fresh_name("obj_fn");
  EXPECT_TRUE(runs(c, "CREATE FUNCTION " + g + "(x int) RETURNS int RETURN x * 2"));
  EXPECT_EQ(scalar(c, "SELECT " + g + "(21)"), "42");
}

TEST_F(Objects, PartitionedTablesAreRefused) {
  connection c = open();
  const std::string t = fresh_name("obj_parted");
  EXPECT_TRUE(fails_with(c, "CREATE TABLE " + t + " (id int, k int) PARTITION BY RANGE (k)",
                         "0A000", "PARTITION BY clause not supported for CREATE TABLE"));
  EXPECT_TRUE(fails_with(c, "CREATE TABLE " + t + " (id int, k int) PARTITION BY HASH (id)",
                         "0A000", "PARTITION BY clause not supported for CREATE TABLE"));
  EXPECT_FALSE(relation_exists(c, t));
  EXPECT_TRUE(runs(c, "CREATE TABLE " + t + " (id int, k int)"));
}

TEST_F(Objects, LockTableAndCursorsAreRefused) {
  connection c = open();
  const std::string t = table(c);
  c.exec("BEGIN");
  EXPECT_TRUE(fails_with(c, "LOCK TABLE " + t + " IN ACCESS SHARE MODE", "0A000",
                         "unsupported statement: Lock"));
  EXPECT_TRUE(transaction_aborted(c));
  c.exec("BEGIN");
  EXPECT_TRUE(fails_with(c, "DECLARE obj_cursor CURSOR FOR SELECT * FROM " + t, "0A000",
                         "unsupported statement: DeclareCursor"));
  EXPECT_TRUE(transaction_aborted(c));
  // Row locks are how DSQL takes part in conflicts instead.
  c.exec("INSERT INTO " + t + " VALUES (1, 1, 'a')");
  c.exec("BEGIN");
  EXPECT_EQ(scalar(c, "SELECT b FROM " + t + " WHERE id = 1 FOR UPDATE"), "a");
  EXPECT_EQ(c.exec("COMMIT").command_tag(), "COMMIT");
}

}  // namespace
}  // namespace dsql::test
