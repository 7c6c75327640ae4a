// `dsql local` end to end. Each test starts its own endpoint (fresh directory, free port).
// Tests marked [front] need the TLS front's authentication; the rest check the setup around it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "dsql/connection.hpp"
#include "local_endpoint.hpp"
#include "support/libpq.hpp"
#include "support/run_process.hpp"
#include "support/sockets.hpp"

namespace {

namespace fs = std::filesystem;
using dsql::test::local_endpoint;
using dsql::test::pgconn_ptr;
using dsql::test::pq_connect;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The single value of a one-row query, or "<error: ...>" so that assertions show what happened.
std::string query_value(PGconn* conn, const std::string& sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn, sql.c_str()), PQclear);
  const auto status = PQresultStatus(res.get());
  if (status == PGRES_COMMAND_OK) return "";
  if (status != PGRES_TUPLES_OK) return std::string("<error: ") + PQerrorMessage(conn) + ">";
  if (PQntuples(res.get()) < 1) return "<no rows>";
  return PQgetvalue(res.get(), 0, 0);
}

std::vector<std::pair<std::string, std::string>> with(
    std::vector<std::pair<std::string, std::string>> params, const std::string& key,
    const std::string& value) {
  for (auto& [k, v] : params) {
    if (k == key) {
      v = value;
      return params;
    }
  }
  params.emplace_back(key, value);
  return params;
}

// A scratch directory removed at the end of the test.
struct scratch_dir {
  std::string path;
  scratch_dir() {
    char tmpl[] = "/tmp/dsql-local-test-XXXXXX";
    path = ::mkdtemp(tmpl);
    ::chmod(path.c_str(), 0711);
  }
  ~scratch_dir() {
    for (pid_t pid : dsql::test::processes_mentioning(path)) ::kill(pid, SIGKILL);
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

dsql::test::process_result run_dsql_local(
    const std::vector<std::string>& args,
    const std::map<std::string, std::optional<std::string>>& env = {}) {
  std::vector<std::string> argv = {dsql::test::local_dsql_binary(), "local"};
  argv.insert(argv.end(), args.begin(), args.end());
  return dsql::test::run_process(argv, env, std::chrono::seconds(60));
}

TEST(LocalEndpoint, EndpointJsonHasEveryFieldAndNoSecretIsLogged) {
  local_endpoint ep;
  const auto j = nlohmann::json::parse(slurp(ep.endpoint_json_path()));
  for (const char* key :
       {"hostname", "port", "region", "ca_file", "access_key_id", "secret_access_key", "cluster_id",
        "cluster_endpoint", "principal_arn", "pid", "psql"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["hostname"], "localhost");
  EXPECT_EQ(j["port"].get<int>(), ep.port());
  EXPECT_GT(ep.port(), 0);
  EXPECT_EQ(j["region"], "us-east-1");
  EXPECT_EQ(j["pid"].get<long long>(), static_cast<long long>(ep.pid()));
  EXPECT_TRUE(fs::path(ep.ca_file()).is_absolute()) << ep.ca_file();
  EXPECT_TRUE(fs::is_regular_file(ep.ca_file()));
  EXPECT_TRUE(std::regex_match(ep.cluster_id(), std::regex("[a-z0-9]{26}")));
  EXPECT_EQ(ep.cluster_endpoint(), ep.cluster_id() + ".dsql.us-east-1.on.aws");
  EXPECT_TRUE(std::regex_match(ep.access_key_id(), std::regex("AKIALOCAL[A-Z0-9]{11}")));
  EXPECT_EQ(ep.secret_access_key().size(), 40u);
  EXPECT_EQ(ep.principal_arn(), "arn:aws:iam::000000000000:role/dsql-local");

  // Secrets are only in files only the owner can read.
  struct stat st {};
  ASSERT_EQ(::stat(ep.endpoint_json_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((ep.dir() + "/config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((ep.dir() + "/tls/server.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const std::string out = ep.output();
  EXPECT_NE(out.find("dsql local: ready on localhost:" + std::to_string(ep.port()) +
                     " (endpoint.json in " + ep.dir() + ")"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find(ep.secret_access_key()), std::string::npos) << "secret in the log";
}

TEST(LocalEndpoint, CertificateCoversLocalNamesAndClusterEndpoint) {
  local_endpoint ep;
  std::unique_ptr<FILE, decltype(&fclose)> ca_in(fopen(ep.ca_file().c_str(), "r"), fclose);
  std::unique_ptr<FILE, decltype(&fclose)> srv_in(
      fopen((ep.dir() + "/tls/server.pem").c_str(), "r"), fclose);
  ASSERT_TRUE(ca_in && srv_in);
  std::unique_ptr<X509, decltype(&X509_free)> ca(
      PEM_read_X509(ca_in.get(), nullptr, nullptr, nullptr), X509_free);
  std::unique_ptr<X509, decltype(&X509_free)> srv(
      PEM_read_X509(srv_in.get(), nullptr, nullptr, nullptr), X509_free);
  ASSERT_TRUE(ca && srv);

  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), srv.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));

  for (const std::string& host : {std::string("localhost"), ep.cluster_endpoint()}) {
    EXPECT_EQ(X509_check_host(srv.get(), host.c_str(), host.size(), 0, nullptr), 1) << host;
  }
  for (const char* ip : {"127.0.0.1", "::1"}) {
    EXPECT_EQ(X509_check_ip_asc(srv.get(), ip, 0), 1) << ip;
  }
  EXPECT_NE(X509_check_host(srv.get(), "example.com", 11, 0, nullptr), 1);
}

TEST(LocalEndpoint, LibpqConnectsWithATokenOverVerifiedTls) {  // [front]
  local_endpoint ep;
  auto conn = pq_connect(ep.libpq_params());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get()) << ep.output();
  EXPECT_EQ(PQsslInUse(conn.get()), 1);
  EXPECT_EQ(query_value(conn.get(), "SELECT current_user"), "admin");
  EXPECT_EQ(query_value(conn.get(), "SELECT 40 + 2"), "42");
  conn.reset();
  const std::string out = ep.output();
  EXPECT_EQ(out.find(ep.secret_access_key()), std::string::npos) << "secret in the log";
  EXPECT_EQ(out.find("X-Amz-Signature"), std::string::npos) << "token in the log";
}

TEST(LocalEndpoint, ConnectsThroughTheDsqlShapedName) {  // [front]
  local_endpoint ep;
  // As with a real cluster: TLS verifies (and SNI carries) the cluster endpoint, the token is
  // signed for it; only the address is pinned to loopback.
  auto params = ep.libpq_params();
  params = with(params, "host", ep.cluster_endpoint());
  params = with(params, "hostaddr", "127.0.0.1");
  params = with(params, "password", ep.token("admin", ep.cluster_endpoint()));
  auto conn = pq_connect(params);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get()) << ep.output();
  EXPECT_EQ(query_value(conn.get(), "SELECT 1"), "1");
}

TEST(LocalEndpoint, ConnectorConnects) {  // [front]
  local_endpoint ep;
  dsql::connection conn = dsql::connect(ep.config());
  ASSERT_TRUE(conn.is_open());
  auto res = conn.exec("SELECT current_user");
  EXPECT_EQ(query_value(conn.raw(), "SELECT current_user"), "admin");
}

TEST(LocalEndpoint, PsqlConnects) {  // [front]
  if (::access("/usr/bin/psql", X_OK) != 0) GTEST_SKIP() << "/usr/bin/psql is not installed";
  local_endpoint ep;
  const std::string conninfo =
      "host=localhost port=" + std::to_string(ep.port()) +
      " user=admin dbname=postgres sslmode=verify-full sslrootcert=" + ep.ca_file();
  auto r = dsql::test::run_process(
      {"/usr/bin/psql", conninfo, "-X", "-A", "-t", "-c", "SELECT 'psql-ok', current_user"},
      {{"PGPASSWORD", ep.token()}, {"PGSSLMODE", std::nullopt}, {"PGHOST", std::nullopt}},
      std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err << ep.output();
  EXPECT_EQ(r.out, "psql-ok|admin\n") << r.err;
}

TEST(LocalEndpoint, PlaintextConnectionsAreRefused) {  // [front]
  local_endpoint ep;
  auto params = with(ep.libpq_params(), "sslmode", "disable");
  params = with(params, "connect_timeout", "5");
  auto conn = pq_connect(params);
  EXPECT_NE(PQstatus(conn.get()), CONNECTION_OK);
  EXPECT_NE(std::string(PQerrorMessage(conn.get())).find("ssl is required"), std::string::npos)
      << PQerrorMessage(conn.get());
}

TEST(LocalEndpoint, SecondInstanceOnTheSameDirRefuses) {
  local_endpoint ep;
  auto r = run_dsql_local({"--dir", ep.dir(), "--port", "0"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("another dsql local is already running on " + ep.dir() + " (pid " +
                       std::to_string(ep.pid()) + ")"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // The first one is untouched.
  EXPECT_TRUE(fs::exists(ep.endpoint_json_path()));
  EXPECT_EQ(::kill(ep.pid(), 0), 0);
}

TEST(LocalEndpoint, TakenPortIsAClearErrorWithoutAHang) {
  dsql::test::loopback_listener taken;
  const std::string port = std::to_string(taken.port());

  scratch_dir scratch;
  const std::string dir = scratch.path + "/d";
  auto r = run_dsql_local({"--dir", dir, "--port", port});
  taken.close();
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(port), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/endpoint.json"));
  EXPECT_TRUE(dsql::test::processes_mentioning(dir).empty());
}

TEST(LocalEndpoint, UnusableDirIsAClearError) {
  scratch_dir scratch;
  const std::string file = scratch.path + "/a-file";
  std::ofstream(file) << "not a directory\n";

  auto r = run_dsql_local({"--dir", file, "--port", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("dsql: cannot use " + file), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a directory"), std::string::npos) << r.err;

  r = run_dsql_local({"--dir", file + "/sub", "--port", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot create the dsql local directory " + file + "/sub"),
            std::string::npos)
      << r.err;

  if (::geteuid() != 0) {  // root writes through permission bits
    const std::string ro = scratch.path + "/read-only";
    ASSERT_EQ(::mkdir(ro.c_str(), 0500), 0);
    r = run_dsql_local({"--dir", ro, "--port", "0"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("is not writable"), std::string::npos) << r.err;
  }
}

TEST(LocalEndpoint, MissingPostgresBinariesNameThePackage) {
  scratch_dir scratch;
  const std::string dir = scratch.path + "/d";
  auto r =
      run_dsql_local({"--dir", dir, "--port", "0"}, {{"DSQL_LOCAL_PG_BINDIR", "/nonexistent"}});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("PostgreSQL server binaries not found"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("apt-get install postgresql-15"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir)) << "nothing is created before the check";
}

TEST(LocalEndpoint, RestartKeepsIdentityAndCertificates) {
  local_endpoint ep;
  const std::string ca = slurp(ep.ca_file());
  const std::string cluster = ep.cluster_endpoint();
  const std::string key_id = ep.access_key_id();
  const std::string secret = ep.secret_access_key();
  const pid_t first = ep.pid();
  ep.restart();
  EXPECT_NE(ep.pid(), first);
  EXPECT_EQ(slurp(ep.ca_file()), ca);
  EXPECT_EQ(ep.cluster_endpoint(), cluster);
  EXPECT_EQ(ep.access_key_id(), key_id);
  EXPECT_EQ(ep.secret_access_key(), secret);
}

TEST(LocalEndpoint, RestartKeepsData) {  // [front]
  local_endpoint ep;
  {
    auto conn = pq_connect(ep.libpq_params());
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get()) << ep.output();
    ASSERT_EQ(query_value(conn.get(), "CREATE TABLE kept (v text)"), "");
    ASSERT_EQ(query_value(conn.get(), "INSERT INTO kept VALUES ('still here')"), "");
  }
  ep.restart();
  auto conn = pq_connect(ep.libpq_params());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get()) << ep.output();
  EXPECT_EQ(query_value(conn.get(), "SELECT v FROM kept"), "still here");
}

void expect_clean_stop(int signal) {
  local_endpoint ep;
  std::ifstream pidfile(ep.dir() + "/pgdata/postmaster.pid");
  long postmaster = 0;
  ASSERT_TRUE(pidfile >> postmaster);
  ASSERT_GT(postmaster, 0);
  ASSERT_FALSE(dsql::test::processes_mentioning(ep.dir()).empty());
  // A client session open (idle in a transaction, even) must not hold up or survive shutdown.
  auto conn = pq_connect(ep.libpq_params());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get()) << ep.output();
  ASSERT_EQ(query_value(conn.get(), "BEGIN"), "");
  ASSERT_EQ(query_value(conn.get(), "SELECT 1"), "1");
  // The postmaster and all its children, the client's backend included.
  std::vector<pid_t> server = dsql::test::children_of(static_cast<pid_t>(postmaster));
  server.push_back(static_cast<pid_t>(postmaster));

  const int status = ep.stop(signal);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ep.output();
  for (pid_t pid : server) {
    EXPECT_NE(::kill(pid, 0), 0) << "PostgreSQL process " << pid << " survived";
  }
  EXPECT_TRUE(dsql::test::processes_mentioning(ep.dir()).empty());
  EXPECT_FALSE(fs::exists(ep.endpoint_json_path()));
  EXPECT_FALSE(fs::exists(ep.dir() + "/pgdata/postmaster.pid")) << "not a clean shutdown";
  // The lock is free again.
  const int fd = ::open((ep.dir() + "/dsql-local.lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ::close(fd);
}

TEST(LocalEndpoint, SigtermLeavesNoProcessBehind) {
  expect_clean_stop(SIGTERM);
}

TEST(LocalEndpoint, SigintLeavesNoProcessBehind) {
  expect_clean_stop(SIGINT);
}

TEST(LocalEndpoint, PostgresDyingStopsTheEndpointWithAnError) {
  local_endpoint ep;
  std::ifstream pidfile(ep.dir() + "/pgdata/postmaster.pid");
  long postmaster = 0;
  ASSERT_TRUE(pidfile >> postmaster);
  ASSERT_EQ(::kill(static_cast<pid_t>(postmaster), SIGKILL), 0);
  // The endpoint notices on its own (no signal from us) and exits with a reason.
  int status = 0;
  ASSERT_TRUE(ep.wait_for_exit(std::chrono::seconds(10), status))
      << "dsql local kept running without PostgreSQL\n"
      << ep.output();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  EXPECT_NE(ep.output().find("PostgreSQL exited unexpectedly"), std::string::npos) << ep.output();
  EXPECT_FALSE(fs::exists(ep.endpoint_json_path()));
}

TEST(LocalEndpoint, RegionIsChosenOnTheFirstStartOnly) {
  local_endpoint::options opts;
  opts.extra_args = {"--region", "eu-west-1"};
  local_endpoint ep(opts);
  EXPECT_EQ(ep.region(), "eu-west-1");
  EXPECT_EQ(ep.cluster_endpoint(), ep.cluster_id() + ".dsql.eu-west-1.on.aws");
  ep.stop();
  auto r = run_dsql_local({"--dir", ep.dir(), "--port", "0", "--region", "us-west-2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("created for region eu-west-1"), std::string::npos) << r.err;
}

TEST(LocalEndpoint, MaxConnectionAgeClosesOldConnections) {  // [front]
  local_endpoint::options opts;
  opts.extra_args = {"--max-connection-age", "2"};
  local_endpoint ep(opts);
  auto conn = pq_connect(ep.libpq_params());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get()) << ep.output();
  EXPECT_EQ(query_value(conn.get(), "SELECT 1"), "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  EXPECT_NE(query_value(conn.get(), "SELECT 1"), "1");
}

}  // namespace
