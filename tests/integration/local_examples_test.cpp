// Every example runs against a `dsql local` endpoint exactly as a user runs it against a
// cluster: CLUSTER_ENDPOINT, CLUSTER_USER and REGION, with the local port, CA and keys in
// PGPORT, PGSSLROOTCERT and the AWS_* variables.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>

#include "local_endpoint.hpp"
#include "support/run_process.hpp"

namespace dsql::test {
namespace {

class Examples : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { endpoint_ = std::make_unique<local_endpoint>(); }
  static void TearDownTestSuite() { endpoint_.reset(); }

  static process_result run(const std::string& name, const std::string& user = "admin",
                            std::map<std::string, std::optional<std::string>> extra = {}) {
    const local_endpoint& ep = *endpoint_;
    std::map<std::string, std::optional<std::string>> env{
        {"CLUSTER_ENDPOINT", ep.hostname()},
        {"CLUSTER_USER", user},
        {"REGION", ep.region()},
        {"PGPORT", std::to_string(ep.port())},
        {"PGSSLROOTCERT", ep.ca_file()},
        {"AWS_ACCESS_KEY_ID", ep.access_key_id()},
        {"AWS_SECRET_ACCESS_KEY", ep.secret_access_key()},
        {"AWS_SESSION_TOKEN", std::nullopt},
        {"AWS_PROFILE", std::nullopt},
        {"AWS_EC2_METADATA_DISABLED", "true"}};
    for (auto& [k, v] : extra) env[k] = v;
    const std::string path = std::string(DSQL_BINARY_DIR) + "/examples/example_" + name;
    auto r = run_process({path}, env, std::chrono::seconds(120));
    // No example prints a secret, whatever happens.
    EXPECT_EQ(r.out.find(ep.secret_access_key()), std::string::npos);
    EXPECT_EQ(r.err.find(ep.secret_access_key()), std::string::npos);
    return r;
  }

  static std::unique_ptr<local_endpoint> endpoint_;
};
std::unique_ptr<local_endpoint> Examples::endpoint_;

TEST_F(Examples, Libpq) {
  const auto r = run("libpq");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("libpq example passed"), std::string::npos) << r.out;
}

TEST_F(Examples, PoolSharedByThreads) {
  const auto r = run("pool");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("inserted 40 rows"), std::string::npos) << r.out;
}

TEST_F(Examples, OccRetry) {
  const auto r = run("occ_retry");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("counter = 40 (expected 40)"), std::string::npos) << r.out;
}

TEST_F(Examples, NonAdminRoleWithItsOwnSchema) {
  const auto r = run("non_admin", "example", {{"IAM_PRINCIPAL_ARN", endpoint_->principal_arn()}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("connected as example in schema myschema"), std::string::npos) << r.out;
}

TEST_F(Examples, MigrateTwiceAppliesOnce) {
  auto r = run("migrate");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("applied V2 orders_by_customer"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("migrate example passed"), std::string::npos) << r.out;
  r = run("migrate");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("applied 0 migrations (2 already applied)"), std::string::npos) << r.out;
}

TEST_F(Examples, LoadWritesEveryRow) {
  // One worker: parallel inserters into one table meet dsql local's false conflict on the
  // relation-extension lock (DSQL has none), which now and then fails a batch with 57014.
  const auto r = run("load", "admin", {{"LOAD_WORKERS", "4"}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("counted 10000, deleted 10000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("load example passed"), std::string::npos) << r.out;
}

TEST_F(Examples, Libpqxx) {
  const std::string path = std::string(DSQL_BINARY_DIR) + "/examples/example_pqxx";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << "example_pqxx was not built (libpqxx missing?)";
  const auto r = run("pqxx");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("libpqxx example passed"), std::string::npos) << r.out;
}

TEST_F(Examples, SociOwnersCrud) {
  const std::string path = std::string(DSQL_BINARY_DIR) + "/examples/example_soci_owners";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << "example_soci_owners was not built (SOCI missing?)";
  const auto r = run("soci_owners");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("created, read, updated, deleted; soci example passed"), std::string::npos)
      << r.out;
}

// Run twice, an example's CREATE TABLE IF NOT EXISTS draws a NOTICE from the server: it must
// arrive as one line of the program's own output, not as libpq's raw text with LOCATION lines.
TEST_F(Examples, NoticesAreOneLineOfTheProgramsOwnOutput) {
  for (const char* name : {"libpq", "pqxx", "soci_owners"}) {
    SCOPED_TRACE(name);
    ASSERT_EQ(run(name).exit_code, 0);
    const auto r = run(name);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.err, "") << "printed on stderr";
    EXPECT_EQ(r.out.find("LOCATION"), std::string::npos) << r.out;
    const auto at = r.out.find("notice: ");
    ASSERT_NE(at, std::string::npos) << r.out;
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    EXPECT_NE(line.find("already exists"), std::string::npos) << line;
    EXPECT_EQ(r.out.find("notice: ", at + 1), std::string::npos) << "more than one: " << r.out;
  }
}

TEST_F(Examples, AsyncTransactionsFromManyTasksOnOneThread) {
  const std::string path = std::string(DSQL_BINARY_DIR) + "/examples/example_async";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << "example_async was not built (Asio missing?)";
  const auto r = run("async");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("counter = 200 (expected 200)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("async example passed"), std::string::npos) << r.out;
}

TEST_F(Examples, FailWithAClearMessageWithoutAnEndpoint) {
  const auto r = run("libpq", "admin", {{"CLUSTER_ENDPOINT", std::nullopt}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("CLUSTER_ENDPOINT"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dsql::test
