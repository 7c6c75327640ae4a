// dsql local's hardening (issue 9), end to end: one regression test per defect, each of which
// failed before its fix. This file: the process around the front (PostgreSQL's supervision, the
// state directory, descriptors, shutdown). local_hardening_front_test.cpp: the front's protocol.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "local_endpoint.hpp"
#include "support/libpq.hpp"
#include "support/run_process.hpp"
#include "support/sockets.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using dsql::test::local_endpoint;
using dsql::test::pq_connect;
using dsql::test::pq_value;
using steady = std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::size_t count_lines_with(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (const auto& line : lines_of(text)) n += line.find(needle) != std::string::npos;
  return n;
}

// The postmaster's pid, from the first line of DIR/pgdata/postmaster.pid (0 when unreadable).
pid_t postmaster_pid(const local_endpoint& ep) {
  std::ifstream in(ep.dir() + "/pgdata/postmaster.pid");
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// A process as seen once: its pid and start time, so that a pid reused later is not taken for it.
struct seen_process {
  pid_t pid = 0;
  std::string start_time;
};

// The fields of /proc/PID/stat after "(comm)" (the state first); empty when it is gone.
std::vector<std::string> stat_fields(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(stat.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

constexpr std::size_t start_time_field = 19;  // field 22 of proc(5), counted after the comm

// The postmaster and every process it started (backends, background workers).
std::vector<seen_process> server_processes(pid_t postmaster) {
  std::vector<pid_t> pids = dsql::test::children_of(postmaster);
  pids.push_back(postmaster);
  std::vector<seen_process> out;
  for (pid_t p : pids) {
    const auto f = stat_fields(p);
    if (f.size() > start_time_field) out.push_back({p, f[start_time_field]});
  }
  return out;
}

// Those of `seen` that still run (zombies are dead).
std::vector<pid_t> still_running(const std::vector<seen_process>& seen) {
  std::vector<pid_t> out;
  for (const auto& p : seen) {
    const auto f = stat_fields(p.pid);
    if (f.size() > start_time_field && f[0] != "Z" && f[start_time_field] == p.start_time) {
      out.push_back(p.pid);
    }
  }
  return out;
}

// Waits (bounded) until none of `seen` runs; returns those that still do.
std::vector<pid_t> wait_until_gone(const std::vector<seen_process>& seen,
                                   std::chrono::seconds timeout) {
  const auto deadline = steady::now() + timeout;
  auto left = still_running(seen);
  while (!left.empty() && steady::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    left = still_running(seen);
  }
  return left;
}

std::string describe(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t p : pids) {
    std::string cmd = slurp("/proc/" + std::to_string(p) + "/cmdline");
    for (char& c : cmd) {
      if (c == '\0') c = ' ';
    }
    const auto f = stat_fields(p);
    out += "\n  pid " + std::to_string(p) + " (parent " + (f.size() > 1 ? f[1] : "?") +
           ", process group " + (f.size() > 2 ? f[2] : "?") + "): " + cmd;
  }
  return out;
}

// Whatever a test leaves of a dead server is killed when it ends, so that a failing test (a
// backend left spinning) cannot burn a core for the rest of the suite. PostgreSQL makes each
// child the leader of its own process group (setsid), so they are killed one by one.
struct server_reaper {
  std::vector<seen_process> seen;
  ~server_reaper() {
    for (pid_t p : still_running(seen)) ::kill(p, SIGKILL);
  }
};

constexpr const char* busy_query =
    "SELECT count(*) FROM generate_series(1, 20000000000) /* hardening-busy */";

// Sends a query that keeps its backend on the CPU for hours, and waits until PostgreSQL runs it.
void start_busy_query(PGconn* busy, PGconn* watcher) {
  ASSERT_EQ(PQsendQuery(busy, busy_query), 1) << PQerrorMessage(busy);
  bool running = false;
  for (int i = 0; i < 100 && !running; ++i) {
    running = pq_value(watcher,
                       "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND "
                       "query LIKE 'SELECT count(*) FROM generate_series(1, 20000000000) "
                       "/* hardening-busy */%'") == "1";
    if (!running) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(running) << "the busy query never showed up as active";
}

void expect_serves(const local_endpoint& ep) {
  auto conn = pq_connect(ep.libpq_params());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get()) << ep.output();
  EXPECT_EQ(pq_value(conn.get(), "SELECT 40 + 2"), "42");
}

// 1. A postmaster killed outright during a CPU-bound query: its backend used to outlive it (and
// dsql local), holding the shared memory, so that the next start on DIR failed with
// "pre-existing shared memory block ... is still in use". What is checked is every process the
// postmaster had started, not its process group: PostgreSQL's InitPostmasterChild() calls
// setsid(), so each backend leads a process group of its own and a killpg() of the postmaster's
// group reaches none of them.
TEST(LocalHardening, KilledPostmasterLeavesNoBackendAndDirStartsAgain) {
  local_endpoint ep;
  auto busy = pq_connect(ep.libpq_params());
  auto watcher = pq_connect(ep.libpq_params());
  ASSERT_EQ(PQstatus(busy.get()), CONNECTION_OK) << PQerrorMessage(busy.get());
  ASSERT_EQ(PQstatus(watcher.get()), CONNECTION_OK) << PQerrorMessage(watcher.get());
  const pid_t postmaster = postmaster_pid(ep);
  ASSERT_GT(postmaster, 1);
  ASSERT_NO_FATAL_FAILURE(start_busy_query(busy.get(), watcher.get()));
  server_reaper server{server_processes(postmaster)};
  ASSERT_GT(server.seen.size(), 1u);

  ASSERT_EQ(::kill(postmaster, SIGKILL), 0);
  int status = 0;
  ASSERT_TRUE(ep.wait_for_exit(30s, status)) << "dsql local kept running\n" << ep.output();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << "\n" << ep.output();
  const auto left = wait_until_gone(server.seen, 10s);
  EXPECT_TRUE(left.empty()) << "left running by the dead server:" << describe(left);

  busy.reset();
  watcher.reset();
  ASSERT_NO_THROW(ep.start());
  expect_serves(ep);
}

// 1b. Both dsql local and its postmaster killed outright (so that neither dsql local's
// parent-death handling nor its watch on PostgreSQL can act): the next start finds the leftover
// backend, stops it, says so, and starts.
TEST(LocalHardening, StartStopsBackendsLeftByAServerThatDied) {
  local_endpoint ep;
  auto busy = pq_connect(ep.libpq_params());
  auto watcher = pq_connect(ep.libpq_params());
  ASSERT_EQ(PQstatus(busy.get()), CONNECTION_OK) << PQerrorMessage(busy.get());
  ASSERT_EQ(PQstatus(watcher.get()), CONNECTION_OK) << PQerrorMessage(watcher.get());
  const pid_t postmaster = postmaster_pid(ep);
  ASSERT_GT(postmaster, 1);
  ASSERT_NO_FATAL_FAILURE(start_busy_query(busy.get(), watcher.get()));
  server_reaper server{server_processes(postmaster)};

  // Frozen first, so that it sees nothing of the postmaster's death; then both killed.
  ASSERT_EQ(::kill(ep.pid(), SIGSTOP), 0);
  ASSERT_EQ(::kill(postmaster, SIGKILL), 0);
  ep.stop(SIGKILL);
  busy.reset();
  watcher.reset();
  // Until the postmaster is reaped (its zombie, now init's, still owns its pid), PostgreSQL would
  // take postmaster.pid for a live server's, which is not what this test is about.
  for (int i = 0; i < 600 && !stat_fields(postmaster).empty(); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(stat_fields(postmaster).empty()) << "the killed postmaster was never reaped";
  const auto leftover = still_running(server.seen);
  ASSERT_FALSE(leftover.empty()) << "no backend outlived the server: nothing to test";

  const std::size_t before = ep.output().size();
  ASSERT_NO_THROW(ep.start()) << "left running:" << describe(still_running(server.seen));
  const std::string said = ep.output().substr(before);
  EXPECT_NE(said.find("left running"), std::string::npos) << said;
  const auto left = wait_until_gone(server.seen, 10s);
  EXPECT_TRUE(left.empty()) << "still running:" << describe(left);
  expect_serves(ep);
}

// User and system CPU time of a process (all its threads), from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  // After "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
  // stime.
  std::istringstream rest(stat.substr(close + 1));
  std::string field;
  for (int i = 0; i < 11; ++i) rest >> field;
  unsigned long long utime = 0, stime = 0;
  rest >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct socket_set {
  std::vector<int> fds;
  ~socket_set() { close_all(); }
  void close_all() {
    for (int fd : fds) ::close(fd);
    fds.clear();
  }
};

// 2. Out of descriptors, the front used to retry accept() at once, forever: 75% of a core and
// ~800,000 identical log lines in 5 s. It now says so once and retries on a timer.
TEST(LocalHardening, FrontOutOfDescriptorsWaitsInsteadOfSpinning) {
  local_endpoint ep;
  rlimit low{64, 64};
  ASSERT_EQ(::prlimit(ep.pid(), RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);

  socket_set idle;
  for (int i = 0; i < 100; ++i) idle.fds.push_back(dsql::test::connect_loopback(ep.port()));
  std::this_thread::sleep_for(500ms);
  const double before = cpu_seconds(ep.pid());
  std::this_thread::sleep_for(3s);
  const double spent = cpu_seconds(ep.pid()) - before;
  ASSERT_GE(before, 0);
  EXPECT_LT(spent, 0.5) << "CPU seconds over 3 s with the descriptors used up";

  idle.close_all();
  expect_serves(ep);
  const std::string out = ep.output();
  const std::size_t failures = count_lines_with(out, "accept failed");
  const std::size_t recoveries = count_lines_with(out, "accepting connections again");
  EXPECT_GE(failures, 1u) << "the front never ran out of descriptors: nothing was tested\n"
                          << out.substr(0, 2000);
  // Once per episode: each failure line is followed by a recovery (but perhaps the last).
  EXPECT_LE(failures, recoveries + 1) << out.substr(0, 2000);
  EXPECT_LT(failures, 100u);
}

// 6. Secret files loosened between runs used to be left so: they are repaired, with a warning
// each.
TEST(LocalHardening, LoosenedSecretFileModesAreRepairedOnRestart) {
  local_endpoint ep;
  ep.stop();
  const std::vector<std::string> secrets = {"config.json", "tls/ca.key", "tls/server.key",
                                            "postgres.log"};
  for (const auto& f : secrets) {
    ASSERT_EQ(::chmod((ep.dir() + "/" + f).c_str(), 0644), 0) << f;
  }
  ASSERT_EQ(::chmod(ep.dir().c_str(), 0777), 0);

  const std::size_t before = ep.output().size();
  ep.start();
  const std::string said = ep.output().substr(before);
  for (const auto& f : secrets) {
    const std::string path = ep.dir() + "/" + f;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 07777, 0600u) << path;
    bool warned = false;
    for (const auto& line : lines_of(said)) {
      warned = warned ||
               (line.find("warning") != std::string::npos && line.find(path) != std::string::npos);
    }
    EXPECT_TRUE(warned) << "no warning about " << path << "\n" << said;
  }
  struct stat st {};
  ASSERT_EQ(::stat(ep.dir().c_str(), &st), 0);
  // The owner's rights, and at most the search bit that PostgreSQL's system user needs.
  EXPECT_EQ(st.st_mode & 0076, 0u) << std::oct << (st.st_mode & 07777);
  EXPECT_EQ(st.st_mode & 0700, 0700u) << std::oct << (st.st_mode & 07777);
  // One warning per file, DIR's included.
  std::size_t warnings = 0;
  for (const auto& line : lines_of(said)) {
    warnings +=
        line.find("warning") != std::string::npos && line.find(ep.dir()) != std::string::npos;
  }
  EXPECT_GE(warnings, secrets.size() + 1) << said;
  expect_serves(ep);
}

// Runs endpoint.json's `psql` line through bash, with `dsql` on PATH, and one query appended.
void expect_psql_line_works(const local_endpoint& ep) {
  const auto j = nlohmann::json::parse(slurp(ep.endpoint_json_path()));
  const std::string psql = j.at("psql").get<std::string>();
  const std::string bindir = fs::path(dsql::test::local_dsql_binary()).parent_path().string();
  const char* path = std::getenv("PATH");
  auto r = dsql::test::run_process({"/bin/bash", "-c", psql + " -X -A -t -c 'SELECT 41 + 1'"},
                                   {{"PATH", bindir + ":" + (path ? path : "/usr/bin:/bin")},
                                    {"AWS_SESSION_TOKEN", std::nullopt},
                                    {"AWS_PROFILE", std::nullopt},
                                    {"PGSSLMODE", std::nullopt},
                                    {"PGHOST", std::nullopt},
                                    {"PGPASSWORD", std::nullopt}},
                                   std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0) << psql << "\n" << r.err << ep.output();
  EXPECT_EQ(r.out, "42\n") << psql << "\n" << r.err;
}

// 8. endpoint.json's psql line did not quote paths with spaces.
TEST(LocalHardening, DirWithSpacesServesAndItsPsqlLineWorks) {
  local_endpoint::options opts;
  opts.dir_name = "state with spaces";
  local_endpoint ep(opts);
  expect_serves(ep);
  expect_psql_line_works(ep);
}

// 8b. A DIR with a comma broke PostgreSQL's socket setting (a list of directories). libpq reads a
// `host` with a comma as a list of hosts too, so every libpq connection to the socket directory
// (the readiness check, the front's own connections) must cope with it as well.
TEST(LocalHardening, DirWithCommaAndSpaceServesAndItsPsqlLineWorks) {
  local_endpoint::options opts;
  opts.dir_name = "state, with a comma";
  local_endpoint ep(opts);
  expect_serves(ep);
  expect_psql_line_works(ep);
}

// 9. NOTICE lines from the front's own connection reached the endpoint's stderr on each restart.
TEST(LocalHardening, RestartPrintsNoNotice) {
  local_endpoint ep;
  ep.restart();
  expect_serves(ep);
  ep.restart();
  expect_serves(ep);
  EXPECT_EQ(ep.output().find("NOTICE"), std::string::npos) << ep.output();
}

// 10. Stopping dsql local closed client connections without a word; a client now hears
// PostgreSQL's shutdown message first.
TEST(LocalHardening, StopTellsConnectedClientsWhy) {
  local_endpoint ep;
  auto conn = pq_connect(ep.libpq_params());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  ASSERT_EQ(pq_value(conn.get(), "SELECT 1"), "1");
  const int status = ep.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ep.output();

  const auto res = dsql::test::pq_exec(conn.get(), "SELECT 1");
  EXPECT_NE(PQresultStatus(res.get()), PGRES_TUPLES_OK);
  const std::string message = PQerrorMessage(conn.get());
  EXPECT_NE(message.find("terminating connection due to administrator command"), std::string::npos)
      << message;
}

}  // namespace
