// `dsql migrate` and `dsql load` as users run them, against dsql local: the output, the errors on
// bad input (with file and line), two runs at once, and processes killed with SIGKILL half-way
// and run again.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>

#include "migrate_support.hpp"
#include "support/run_process.hpp"

namespace dsql::test {
namespace {

using namespace std::chrono_literals;

class Cli : public endpoint_suite<Cli> {
 protected:
  static void SetUpTestSuite() {
    local_endpoint::options o;
    o.extra_args = {"--index-build-delay", "300"};
    start(o);
  }

  static env_overrides env() {
    return {{"AWS_ACCESS_KEY_ID", endpoint_->access_key_id()},
            {"AWS_SECRET_ACCESS_KEY", endpoint_->secret_access_key()},
            {"AWS_SESSION_TOKEN", std::nullopt},
            {"AWS_PROFILE", std::nullopt},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"CLUSTER_ENDPOINT", std::nullopt}};
  }

  // The endpoint as a URI with its port and CA, as the DESIGN contract has it.
  static std::string uri() {
    return "postgres://admin@localhost:" + std::to_string(endpoint_->port()) +
           "/postgres?region=" + endpoint_->region() + "&sslrootcert=" + endpoint_->ca_file();
  }

  static std::vector<std::string> dsql(const std::string& command, std::vector<std::string> args) {
    std::vector<std::string> a{dsql_binary(), command, uri()};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }

  static process_result run(const std::string& command, std::vector<std::string> args) {
    auto r = run_process(dsql(command, std::move(args)), env(), 300s);
    EXPECT_EQ(r.out.find(endpoint_->secret_access_key()), std::string::npos);
    EXPECT_EQ(r.err.find(endpoint_->secret_access_key()), std::string::npos);
    return r;
  }

  static void sql(const std::string& statement) { exec_with_retry(*pool_, statement); }

  // A CSV of `rows` rows (id, name, score, note, ts) with a header; quotes and commas inside.
  static std::string write_csv(const scratch_dir& d, const std::string& name, int rows) {
    std::ofstream out(d.path() + "/" + name);
    out << "id,name,score,note,ts\n";
    for (int i = 0; i < rows; ++i) {
      out << i << ",name " << i << "," << (i % 1000) / 7.0 << ",\"a, \"\"quoted\"\" note\","
          << "2026-01-01 00:00:" << (i % 60 < 10 ? "0" : "") << i % 60 << "\n";
    }
    return d.path() + "/" + name;
  }

  static std::string create_items(const std::string& table, bool key) {
    sql("CREATE TABLE " + table + " (id bigint" + (key ? " PRIMARY KEY" : "") +
        ", name text, score double precision, note text, ts timestamp)");
    return table;
  }
};

TEST_F(Cli, MigrateAppliesThenDoesNothing) {
  scratch_dir d;
  write_migration_set(d, "cli");
  const std::vector<std::string> args{"--dir", d.path(),       "--history-table",
                                      "h_cli", "--lock-table", "l_cli"};
  auto r = run("migrate", args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("V1 create_cli: applied"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("waiting for job"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Applied 2 migrations: 8 statements in 7 transactions, 1 job"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ms per statement"), std::string::npos) << r.out;
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM t_cli"), "3600");
  r = run("migrate", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Applied 0 migrations (2 already applied)"), std::string::npos) << r.out;
  expect_set_applied_once(*pool_, "cli");
}

TEST_F(Cli, MigrateDryRunPrintsThePlanAndTheRefusals) {
  scratch_dir d;
  d.write("V1__a.sql", "CREATE TABLE dry_a (id bigint PRIMARY KEY, v text);\n" +
                           insert_rows("dry_a", 0, 2) +
                           "CREATE INDEX ASYNC dry_a_v ON dry_a (v);\nANALYZE dry_a;\n");
  d.write("V2__b.sql", "TRUNCATE dry_a;\n");
  const auto r = run("migrate", {"--dir", d.path(), "--dry-run", "--history-table", "h_dry"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("pending, 4 statements in 4 transactions"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("line 2  DML (2 rows)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("then waits for its job"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(outside a transaction block)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("V2__b.sql:1: TRUNCATE dry_a: unsupported statement: Truncate"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Checked only by the server"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("1 statement would be refused by DSQL"), std::string::npos) << r.err;
  EXPECT_EQ(query_value(*pool_, "SELECT to_regclass('dry_a') IS NULL"), "t");
}

TEST_F(Cli, MigrateNamesTheFileAndLineOfBadInput) {
  auto r = run("migrate", {"--dir", "/nonexistent/migrations"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "dsql: migration directory '/nonexistent/migrations' cannot be read: No such file or "
            "directory\n");
  scratch_dir d;
  d.write("V1__bad.sql", "SELECT 1;\n\nCREATE TABLE (id bigint);\n");
  r = run("migrate", {"--dir", d.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("V1__bad.sql:3: PostgreSQL's grammar cannot parse this"), std::string::npos)
      << r.err;
  d.write("V1__bad.sql", "SELECT 1;\n");
  d.write("V2_missing_underscore.sql", "SELECT 1;\n");
  r = run("migrate", {"--dir", d.path()});
  EXPECT_NE(r.err.find("is not named V<version>__<name>.sql"), std::string::npos) << r.err;
  r = run("migrate", {"--dir", d.path(), "--resolve", "maybe"});
  EXPECT_NE(r.err.find("--resolve 'maybe' is not one of applied, not-applied"), std::string::npos)
      << r.err;
}

TEST_F(Cli, MigrateTwoProcessesAtOnceApplyEachVersionOnce) {
  scratch_dir d;
  write_migration_set(d, "procs");
  d.write("V3__count.sql",
          "CREATE TABLE procs_runs (run bigint);\nINSERT INTO procs_runs VALUES (1);\n");
  std::vector<std::string> args{"--dir",   d.path(),       "--history-table",
                                "h_procs", "--lock-table", "l_procs"};
  background_process a(dsql("migrate", args), env(), d.path() + "/a");
  background_process b(dsql("migrate", args), env(), d.path() + "/b");
  int sa = 0, sb = 0;
  ASSERT_TRUE(a.wait(120s, sa));
  ASSERT_TRUE(b.wait(120s, sb));
  EXPECT_TRUE(WIFEXITED(sa) && WEXITSTATUS(sa) == 0) << a.out() << a.err();
  EXPECT_TRUE(WIFEXITED(sb) && WEXITSTATUS(sb) == 0) << b.out() << b.err();
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM procs_runs"), "1");
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM t_procs"), "3600");
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM h_procs WHERE state = 'applied'"), "3");
}

TEST_F(Cli, MigrateKilledDuringAnIndexJobResumesThere) {
  scratch_dir d;
  d.write("V1__kill.sql", "CREATE TABLE killed_m (id bigint PRIMARY KEY, v text);\n" +
                              insert_rows("killed_m", 0, 100) +
                              "CREATE INDEX ASYNC killed_m_v ON killed_m (v);\n" +
                              insert_rows("killed_m", 100, 5));
  std::vector<std::string> args{"--dir",           d.path(),   "--lock-lease", "2",
                                "--history-table", "h_killed", "--lock-table", "l_killed"};
  {
    background_process p(dsql("migrate", args), env(), d.path() + "/first");
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (p.out().find("waiting for job") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_NE(p.out().find("waiting for job"), std::string::npos) << p.out() << p.err();
    p.kill(SIGKILL);
    int status = 0;
    ASSERT_TRUE(p.wait(10s, status));
    ASSERT_TRUE(WIFSIGNALED(status));
  }
  // The dead run's lock is free when its lease ends; the job it waited for is waited for again.
  const auto r = run("migrate", args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("resuming at statement 3"), std::string::npos) << r.out;
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM killed_m"), "105");
  EXPECT_EQ(query_value(*pool_,
                        "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                        "'killed_m_v'::regclass"),
            "t");
}

TEST_F(Cli, LoadsExactlyTheRowsOfTheFileAndVerifiesTheCount) {
  scratch_dir d;
  const std::string file = write_csv(d, "items.csv", 100000);
  create_items("items_exact", true);
  const auto r = run("load", {"--table", "items_exact", "--file", file, "--header", "--workers",
                              "1", "--verify", "count"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Loaded 100,000 rows into items_exact in 34 batches"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Verified: items_exact has 100,000 rows"), std::string::npos) << r.out;
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM items_exact"), "100000");
  EXPECT_EQ(query_value(*pool_, "SELECT note FROM items_exact WHERE id = 7"), "a, \"quoted\" note");
  // Not a terminal: plain progress lines only, no carriage returns.
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
}

// Killed with SIGKILL half-way, then run again with the same state file: every row exactly
// once, in a table without a key (nothing but the ledger could tell a committed batch).
TEST_F(Cli, LoadKilledHalfWayResumesAndLoadsEachRowOnce) {
  scratch_dir d;
  const std::string file = write_csv(d, "items.csv", 100000);
  create_items("items_killed", false);
  const std::string state = d.path() + "/load.state";
  const std::vector<std::string> args{
      "--table",  "items_killed", "--file",       file,  "--header", "--workers", "1",
      "--resume", state,          "--batch-rows", "100", "--verify", "count"};
  {
    background_process p(dsql("load", args), env(), d.path() + "/first");
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::size_t lines = 0;
    while (lines < 20 && std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(state);
      lines = static_cast<std::size_t>(
          std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
      std::this_thread::sleep_for(1ms);
    }
    p.kill(SIGKILL);
    int status = 0;
    ASSERT_TRUE(p.wait(10s, status));
    ASSERT_TRUE(WIFSIGNALED(status)) << "the load ended before it could be killed: " << p.out();
  }
  const std::string before = query_value(*pool_, "SELECT count(*) FROM items_killed");
  EXPECT_NE(before, "100000");
  EXPECT_NE(before, "0");
  const auto r = run("load", args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("an earlier run had committed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Verified: items_killed has 100,000 rows"), std::string::npos) << r.out;
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) || ' ' || count(DISTINCT id) FROM items_killed"),
            "100000 100000");
  const auto again = run("load", args);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("is complete; nothing to do"), std::string::npos) << again.out;
}

TEST_F(Cli, AMalformedLineStopsTheLoadWithItsLineAndWhatWasCommitted) {
  scratch_dir d;
  std::string text = "id,name,score,note,ts\n";
  for (int i = 0; i < 7000; ++i) text += std::to_string(i) + ",n,1.5,x,2026-01-01\n";
  text += "7000,\"unclosed,1.5,x,2026-01-01\n";
  for (int i = 7001; i < 7100; ++i) text += std::to_string(i) + ",n,1.5,x,2026-01-01\n";
  d.write("bad.csv", text);
  create_items("items_bad", true);
  const std::string state = d.path() + "/bad.state";
  auto r = run("load", {"--table", "items_bad", "--file", d.path() + "/bad.csv", "--header",
                        "--workers", "1", "--resume", state});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.csv:7002: field 2 opens a quote that is not closed before the end "
                       "of the file"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nothing of an incomplete batch was written"), std::string::npos) << r.err;
  // Batches of 2,999 rows (the ledger row makes 3,000): two complete before the bad line.
  EXPECT_NE(r.err.find("2 batches (5,998 rows) were committed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("every row up to line 5999 is loaded"), std::string::npos) << r.err;
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM items_bad"), "5998");
  // Fixed, the same command resumes after what was committed.
  text.replace(text.find("\"unclosed"), 9, "unclosed");
  d.write("bad.csv", text);
  r = run("load", {"--table", "items_bad", "--file", d.path() + "/bad.csv", "--header", "--workers",
                   "1", "--resume", state, "--verify", "count"});
  EXPECT_NE(r.err.find("--verify count needs the table's row count"), std::string::npos) << r.err;
  r = run("load", {"--table", "items_bad", "--file", d.path() + "/bad.csv", "--header", "--workers",
                   "1", "--resume", state});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM items_bad"), "7100");
}

TEST_F(Cli, LoadRefusesBadInputClearly) {
  scratch_dir d;
  const std::string file = write_csv(d, "few.csv", 3);
  create_items("items_input", true);
  auto r = run("load", {"--table", "no_such_table", "--file", file, "--header"});
  EXPECT_EQ(r.err,
            "dsql: table 'no_such_table' does not exist (or is not on this connection's "
            "search_path)\n");
  r = run("load", {"--table", "items_input", "--file", file, "--columns", "id,nope"});
  EXPECT_EQ(r.err,
            "dsql: column 'nope' does not exist in table items_input (its columns: id, "
            "name, score, note, ts)\n");
  r = run("load", {"--table", "items_input", "--file", d.path() + "/missing.csv"});
  EXPECT_NE(r.err.find("cannot read '" + d.path() + "/missing.csv': No such file or directory"),
            std::string::npos)
      << r.err;
  r = run("load", {"--table", "items_input", "--file", file, "--format", "xml"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--format: xml not in {csv,tsv}"), std::string::npos) << r.err;
  r = run("load", {"--table", "items_input", "--file", file, "--header", "--verify", "sum"});
  EXPECT_NE(r.err.find("--verify 'sum' is not supported"), std::string::npos) << r.err;
  d.write("wrong.csv", "id,name,score,note,ts\n1,a,not a number,x,2026-01-01\n");
  r = run("load", {"--table", "items_input", "--file", d.path() + "/wrong.csv", "--header"});
  EXPECT_NE(r.err.find("wrong.csv:2: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid input syntax for type double precision"), std::string::npos)
      << r.err;
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM items_input"), "0");
}

TEST_F(Cli, LoadsTsvAndSkipsConflictsOnRequest) {
  scratch_dir d;
  d.write("a.tsv", "1\tone\t\\N\n2\ttwo\\tand tab\tx\n");
  sql("CREATE TABLE tsv_items (id bigint PRIMARY KEY, name text, note text)");
  auto r = run("load", {"--table", "tsv_items", "--file", d.path() + "/a.tsv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query_value(*pool_, "SELECT name FROM tsv_items WHERE id = 2"), "two\tand tab");
  EXPECT_EQ(query_value(*pool_, "SELECT note IS NULL FROM tsv_items WHERE id = 1"), "t");
  d.write("b.tsv", "2\tagain\tx\n3\tthree\ty\n");
  r = run("load",
          {"--table", "tsv_items", "--file", d.path() + "/b.tsv", "--on-conflict", "do-nothing"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("The server skipped 1 rows"), std::string::npos) << r.out;
  EXPECT_EQ(query_value(*pool_, "SELECT count(*) FROM tsv_items"), "3");
}

}  // namespace
}  // namespace dsql::test
