// What relaying through `dsql local` costs: connection setup and a SELECT 1 round trip through the
// endpoint, against the same done straight to PostgreSQL over TLS on TCP.
//
//   build/bench/bench_relay --benchmark_min_time=2 --benchmark_repetitions=3
//                           --benchmark_report_aggregates_only=true
//
// The endpoint's own PostgreSQL only listens on a Unix socket without TLS, so the TLS baseline is a
// separate throwaway PostgreSQL 15 started here: initdb into a temporary directory (as the
// `postgres` system user when run as root), a self-signed P-256 certificate for localhost,
// ssl = on, listen_addresses = '127.0.0.1' on a free port, pg_hba `hostssl all all 127.0.0.1/32
// trust`. A watchdog child stops it (pg_ctl stop -m fast), stops the endpoint and removes the
// directories when this program ends in any way, crashes and signals included.
//
// Needs the tests to be built (for the local_endpoint fixture), PostgreSQL 15's server binaries
// and the openssl command.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "local_endpoint.hpp"

namespace {

const char* const pg_bindir = "/usr/lib/postgresql/15/bin";

bool as_root() {
  return ::geteuid() == 0;
}

// Runs argv (as the postgres system user when `as_postgres` and we are root), output to `log`.
// Returns the exit status, or -1 when it did not exit normally.
int run(std::vector<std::string> argv, bool as_postgres, const std::string& log = "/dev/null") {
  if (as_postgres && as_root()) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void check(int rc, const std::string& what, const std::string& log) {
  if (rc != 0) {
    throw std::runtime_error(what + " failed (" + std::to_string(rc) + "):\n" + slurp(log));
  }
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// Stops the baseline and the endpoint and removes their directories once this process is gone
// (pipe EOF), however it ended. Idempotent with the normal teardown.
class watchdog {
 public:
  explicit watchdog(const std::string& pg_dir) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::close(fds[1]);
      ::signal(SIGINT, SIG_IGN);
      ::signal(SIGHUP, SIG_IGN);
      ::signal(SIGTERM, SIG_IGN);
      std::string msg;
      char buf[256];
      ssize_t n;
      while ((n = ::read(fds[0], buf, sizeof buf)) != 0) {
        if (n > 0) msg.append(buf, static_cast<std::size_t>(n));
      }
      // msg: "<endpoint pid> <endpoint dir>\n" lines (the last one counts), or "done\n".
      if (msg.find("done\n") == std::string::npos) {
        std::istringstream in(msg);
        long pid = 0;
        std::string dir, line;
        while (std::getline(in, line)) {
          std::istringstream l(line);
          l >> pid >> dir;
        }
        if (pid > 0 && !dir.empty()) {
          const std::string cmd = slurp("/proc/" + std::to_string(pid) + "/cmdline");
          if (cmd.find(dir) != std::string::npos) {
            ::kill(static_cast<pid_t>(pid), SIGTERM);  // it stops its PostgreSQL itself
            for (int i = 0; i < 300 && ::kill(static_cast<pid_t>(pid), 0) == 0; ++i)
              ::usleep(100000);
          }
          // The fixture's directory: DIR's parent holds DIR and the endpoint's output.
          const std::string base = dir.substr(0, dir.rfind('/'));
          if (base.rfind("/tmp/dsql-local-", 0) == 0) run({"rm", "-rf", base}, false);
        }
        if (::access((pg_dir + "/data/postmaster.pid").c_str(), F_OK) == 0) {
          run({std::string(pg_bindir) + "/pg_ctl", "-D", pg_dir + "/data", "-m", "fast", "-w",
               "stop"},
              true);
        }
        run({"rm", "-rf", pg_dir}, false);
      }
      ::_exit(0);
    }
    ::close(fds[0]);
    fd_ = fds[1];
    ::fcntl(fd_, F_SETFD, FD_CLOEXEC);
  }
  void watch_endpoint(pid_t pid, const std::string& dir) {
    say(std::to_string(pid) + " " + dir + "\n");
  }
  // Normal teardown happened: the watchdog has nothing left to do.
  ~watchdog() {
    say("done\n");
    ::close(fd_);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

 private:
  void say(const std::string& s) {
    if (::write(fd_, s.data(), s.size()) < 0) {
    }
  }
  pid_t pid_ = -1;
  int fd_ = -1;
};

// A PostgreSQL 15 with TLS on 127.0.0.1:<free port>, stopped and removed in the destructor.
class tls_postgres {
 public:
  // `dir`: an empty directory of ours (removed in the destructor).
  explicit tls_postgres(std::string dir) : dir_(std::move(dir)), log_(dir_ + "/setup.log") {
    try {
      setup();
    } catch (...) {
      cleanup();
      throw;
    }
  }
  ~tls_postgres() { cleanup(); }
  tls_postgres(const tls_postgres&) = delete;
  tls_postgres& operator=(const tls_postgres&) = delete;

  const std::string& dir() const { return dir_; }
  std::string cert_file() const { return dir_ + "/server.crt"; }
  std::uint16_t port() const { return port_; }

 private:
  void setup() {
    if (as_root()) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw) throw std::runtime_error("no postgres system user");
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        throw std::runtime_error("chown " + dir_ + " failed");
      }
    }
    ::chmod(dir_.c_str(), 0755);
    {
      std::ofstream(log_).flush();
      if (as_root()) {
        const passwd* pw = ::getpwnam("postgres");
        if (::chown(log_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
          throw std::runtime_error("chown " + log_ + " failed");
        }
      }
    }
    const std::string data = dir_ + "/data";
    check(run({std::string(pg_bindir) + "/initdb", "-D", data, "-U", "postgres", "--auth=trust",
               "-E", "UTF8", "--no-sync"},
              true, log_),
          "initdb", log_);
    check(
        run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
             "subjectAltName=DNS:localhost", "-keyout", dir_ + "/server.key", "-out", cert_file()},
            true, log_),
        "openssl req", log_);
    port_ = free_port();
    {
      std::ofstream conf(data + "/postgresql.conf", std::ios::app);
      conf << "\n# relay_bench baseline\n"
           << "listen_addresses = '127.0.0.1'\n"
           << "port = " << port_ << "\n"
           << "unix_socket_directories = ''\n"
           << "ssl = on\n"
           << "ssl_cert_file = '" << cert_file() << "'\n"
           << "ssl_key_file = '" << dir_ << "/server.key'\n";
      std::ofstream hba(data + "/pg_hba.conf", std::ios::trunc);
      hba << "hostssl all all 127.0.0.1/32 trust\n";
      if (!conf || !hba) throw std::runtime_error("cannot write the baseline's configuration");
    }
    check(run({std::string(pg_bindir) + "/pg_ctl", "-D", data, "-l", dir_ + "/postgres.log", "-w",
               "-t", "60", "start"},
              true, log_),
          "pg_ctl start", log_ + " / " + dir_ + "/postgres.log");
  }
  void cleanup() noexcept {
    try {
      if (::access((dir_ + "/data/postmaster.pid").c_str(), F_OK) == 0) {
        run({std::string(pg_bindir) + "/pg_ctl", "-D", dir_ + "/data", "-m", "fast", "-w", "stop"},
            true);
      }
      run({"rm", "-rf", dir_}, false);
    } catch (...) {
    }
  }

  std::string dir_;
  std::string log_;
  std::uint16_t port_ = 0;
};

// Set in main() before the benchmarks run.
dsql::test::local_endpoint* endpoint = nullptr;
tls_postgres* baseline = nullptr;

using params = std::vector<std::pair<std::string, std::string>>;

params direct_tls_params(const std::string& sslmode) {
  return {{"host", "localhost"},    {"port", std::to_string(baseline->port())},
          {"dbname", "postgres"},   {"user", "postgres"},
          {"sslmode", sslmode},     {"sslrootcert", baseline->cert_file()},
          {"connect_timeout", "10"}};
}

params direct_unix_params() {
  // The endpoint's own PostgreSQL: socket in DIR/run, port 5432 (cli/local_command.cpp).
  return {{"host", endpoint->dir() + "/run"},
          {"port", "5432"},
          {"dbname", "postgres"},
          {"user", "admin"},
          {"connect_timeout", "10"}};
}

PGconn* connect(const params& p) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : p) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  return PQconnectdbParams(keys.data(), values.data(), 0);
}

struct conn_deleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;

// One connect + PQfinish per iteration; `make` builds the parameters (inside the timing, as a real
// client would: for the endpoint that includes signing a fresh token).
template <class MakeParams>
void connect_loop(benchmark::State& state, MakeParams make) {
  for (auto _ : state) {
    conn_ptr c(connect(make()));
    if (PQstatus(c.get()) != CONNECTION_OK) {
      state.SkipWithError(PQerrorMessage(c.get()));
      break;
    }
  }
}

void query_loop(benchmark::State& state, const params& p) {
  conn_ptr c(connect(p));
  if (PQstatus(c.get()) != CONNECTION_OK) {
    state.SkipWithError(PQerrorMessage(c.get()));
    return;
  }
  state.SetLabel(PQsslInUse(c.get()) ? PQsslAttribute(c.get(), "protocol") : "no TLS");
  for (auto _ : state) {
    PGresult* r = PQexec(c.get(), "SELECT 1");
    const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok) {
      state.SkipWithError(PQerrorMessage(c.get()));
      break;
    }
  }
}

void BM_ConnectViaEndpoint(benchmark::State& state) {
  connect_loop(state, [] { return endpoint->libpq_params(); });
}
BENCHMARK(BM_ConnectViaEndpoint)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Same verification work as through the endpoint: verify-full against the self-signed cert.
void BM_ConnectDirectTls(benchmark::State& state) {
  const params p = direct_tls_params("verify-full");
  connect_loop(state, [&p] { return p; });
}
BENCHMARK(BM_ConnectDirectTls)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_ConnectDirectTlsRequire(benchmark::State& state) {
  const params p = direct_tls_params("require");
  connect_loop(state, [&p] { return p; });
}
BENCHMARK(BM_ConnectDirectTlsRequire)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The token signing included in BM_ConnectViaEndpoint, on its own.
void BM_EndpointToken(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(endpoint->token());
}
BENCHMARK(BM_EndpointToken)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_QueryViaEndpoint(benchmark::State& state) {
  query_loop(state, endpoint->libpq_params());
}
BENCHMARK(BM_QueryViaEndpoint)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_QueryDirectTls(benchmark::State& state) {
  query_loop(state, direct_tls_params("verify-full"));
}
BENCHMARK(BM_QueryDirectTls)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_QueryDirectUnixSocket(benchmark::State& state) {
  query_loop(state, direct_unix_params());
}
BENCHMARK(BM_QueryDirectUnixSocket)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  int rc = 0;
  try {
    char tmpl[] = "/tmp/dsql-relay-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    // Forked first, so that it also covers a failure half way through the baseline's setup.
    watchdog guard(tmpl);
    tls_postgres pg(tmpl);
    baseline = &pg;
    dsql::test::local_endpoint ep;
    guard.watch_endpoint(ep.pid(), ep.dir());
    endpoint = &ep;
    std::cerr << "endpoint: " << ep.hostname() << ":" << ep.port() << " (state " << ep.dir()
              << "); baseline PostgreSQL with TLS: 127.0.0.1:" << pg.port() << " (" << pg.dir()
              << ")\n";
    benchmark::RunSpecifiedBenchmarks();
    endpoint = nullptr;
    baseline = nullptr;
  } catch (const std::exception& e) {
    std::cerr << "bench_relay: " << e.what() << "\n";
    rc = 1;
  }
  benchmark::Shutdown();
  return rc;
}
