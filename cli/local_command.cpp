// dsql local: a local DSQL endpoint, PostgreSQL 15 behind a TLS front that authenticates like DSQL.
//
// Startup order matters: the listener is bound before PostgreSQL starts so that a taken port
// fails fast, and endpoint.json is written last, so its presence means "ready".

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "commands.hpp"
#include "dsql/endpoint.hpp"
#include "local/certificate_authority.hpp"
#include "local/embedded_rules.hpp"
#include "local/endpoint_json.hpp"
#include "local/front_server.hpp"
#include "local/postgres_supervisor.hpp"
#include "local/state_dir.hpp"

namespace dsql::cli {
namespace {

struct local_options {
  std::string dir;
  int port = 0;
  std::string region;
  std::int64_t clock_skew = 300;
  std::string listen = "127.0.0.1";
  std::string peer_region;
  int peer_port = 0;
  // DSQL's limits: given here, they override config.json's "limits" (see local::local_limits).
  std::optional<std::int64_t> max_connections;
  std::optional<double> connection_rate;
  std::optional<double> connection_burst;
  std::optional<std::int64_t> max_transaction_rows;
  std::optional<std::int64_t> max_transaction_bytes;
  std::optional<std::int64_t> max_transaction_age;
  std::optional<std::int64_t> max_connection_age;
  std::optional<std::int64_t> index_build_delay;
};

// config.json's limits, then the command line's.
local::local_limits effective_limits(local::local_limits l, const local_options& o) {
  auto take = [](auto& target, const auto& given) {
    if (given) target = *given;
  };
  take(l.max_connections, o.max_connections);
  take(l.connection_rate, o.connection_rate);
  take(l.connection_burst, o.connection_burst);
  take(l.max_transaction_rows, o.max_transaction_rows);
  take(l.max_transaction_bytes, o.max_transaction_bytes);
  take(l.max_transaction_age, o.max_transaction_age);
  take(l.max_connection_age, o.max_connection_age);
  take(l.index_build_delay, o.index_build_delay);
  if (l.max_connections < 0 || l.connection_rate < 0 || l.connection_burst < 0 ||
      l.max_transaction_rows < 0 || l.max_transaction_bytes < 0 || l.index_build_delay < 0) {
    throw std::runtime_error("limits cannot be negative (0 turns a limit off)");
  }
  if (l.max_connection_age < 1) throw std::runtime_error("--max-connection-age must be >= 1");
  if (l.max_transaction_age < 1) throw std::runtime_error("--max-transaction-age must be >= 1");
  if (l.connection_rate > 0 && l.connection_burst < 1) {
    throw std::runtime_error("--connection-burst must be >= 1 while a connection rate is set");
  }
  if (l.max_connections > 100000) {
    throw std::runtime_error("--max-connections above 100000 is more than this machine can run");
  }
  return l;
}

local::endpoint_options endpoint_for(const std::string& cluster_id, const std::string& region,
                                     const std::string& listen, int port,
                                     const local::local_limits& limits) {
  local::endpoint_options e;
  e.listen_address = listen;
  e.port = static_cast<std::uint16_t>(port);
  e.cluster_id = cluster_id;
  e.region = region;
  e.hostnames = {cluster_endpoint(cluster_id, region), "localhost", "127.0.0.1", "::1"};
  e.quotas.max_connections = static_cast<std::size_t>(limits.max_connections);
  e.quotas.connection_rate = limits.connection_rate;
  e.quotas.connection_burst = limits.connection_burst;
  return e;
}

// The socket file name only; PostgreSQL never listens on TCP.
constexpr std::uint16_t backend_port = 5432;

std::mutex& log_mutex() {
  static std::mutex m;
  return m;
}

void log_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(log_mutex());
  std::cerr << "dsql local: " << line << std::endl;
}

// Each client connection costs the front two descriptors (client and backend sockets): raise the
// soft limit so that the connection quota, not EMFILE, is what clients meet.
void raise_descriptor_limit(std::int64_t connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
  const auto needed = static_cast<rlim_t>(2 * connections + 64);
  if (connections > 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    log_line("warning: the open-file limit (" + std::to_string(limit.rlim_cur) +
             ") is below what --max-connections " + std::to_string(connections) + " needs (" +
             std::to_string(needed) + "); raise it with ulimit -n");
  }
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // A closed terminal should stop the endpoint as cleanly as Ctrl-C does.
  sigaddset(&set, SIGHUP);
  return set;
}

// Turns SIGINT/SIGTERM/SIGHUP into a call to front_server::stop() from an ordinary thread, where it
// is safe to take locks. The signals are blocked before any other thread exists so that every later
// thread (the front's included) inherits the mask and only this one ever receives them.
class signal_watcher {
 public:
  signal_watcher() {
    const sigset_t set = stop_signals();
    if (int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
      throw std::runtime_error("cannot block SIGINT/SIGTERM");
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~signal_watcher() {
    done_ = true;
    // Wakes the wait at once; `done_` tells the loop that this signal is ours.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }
  signal_watcher(const signal_watcher&) = delete;
  signal_watcher& operator=(const signal_watcher&) = delete;

  bool stop_requested() const { return stop_requested_; }

  // The front to stop on a signal; nullptr while none is running. While one runs, `healthy` is
  // polled twice a second and the front is stopped when it returns false.
  void watch(local::front_server* front, std::function<bool()> healthy = {}) {
    std::lock_guard<std::mutex> lock(mutex_);
    front_ = front;
    healthy_ = std::move(healthy);
    if (front_ && stop_requested_) front_->stop();
  }

 private:
  void loop() {
    const sigset_t set = stop_signals();
    const timespec tick{0, 500'000'000};
    for (;;) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (done_) return;
      std::lock_guard<std::mutex> lock(mutex_);
      if (sig < 0) {
        if (front_ && healthy_ && !stop_requested_ && !healthy_()) {
          stop_requested_ = true;
          front_->stop();
        }
        continue;
      }
      if (!stop_requested_.exchange(true)) {
        const char* name = sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM";
        log_line(std::string("received ") + name + ", stopping");
      }
      if (front_) front_->stop();
    }
  }

  std::thread thread_;
  std::atomic<bool> done_{false};
  std::atomic<bool> stop_requested_{false};
  std::mutex mutex_;
  local::front_server* front_ = nullptr;
  std::function<bool()> healthy_;
};

void run_local(const local_options& o, const global_options& globals) {
  for (int port : {o.port, o.peer_port}) {
    if (port < 0 || port > 65535) {
      throw std::runtime_error("--port " + std::to_string(port) + " is not a TCP port (0-65535)");
    }
  }
  if (o.clock_skew < 0) throw std::runtime_error("--clock-skew must be >= 0");

  signal_watcher signals;

  // First, so that a missing server package is reported before anything is written.
  const std::string bindir = local::find_postgres_bindir();
  local::state_dir dir(o.dir);
  for (const std::string& w : dir.repair_modes()) log_line("warning: " + w);
  const local::local_settings settings = dir.load_or_create_settings(o.region, o.peer_region);
  const std::string cluster_endpoint = settings.cluster_endpoint();
  const local::local_limits limits = effective_limits(settings.limits, o);
  const bool has_peer = !settings.peer_cluster_id.empty();
  raise_descriptor_limit((has_peer ? 2 : 1) * limits.max_connections);

  local::postgres_options pg_opts;
  pg_opts.bindir = bindir;
  pg_opts.data_dir = dir.file("pgdata");
  pg_opts.socket_dir = dir.file("run");
  pg_opts.log_file = dir.file("postgres.log");
  pg_opts.port = backend_port;
  pg_opts.library_dir = dir.install_library("dsql_rules.so", local::embedded_rules_library());
  // Every endpoint's quota, plus the front's own connections and PostgreSQL's reserve: the
  // documented quota is what clients meet, never PostgreSQL's "too many clients".
  pg_opts.max_connections = static_cast<int>(
      (has_peer ? 2 : 1) * (limits.max_connections > 0 ? limits.max_connections : 10000) + 10);
  pg_opts.settings = {
      {"dsql_rules.max_transaction_rows", std::to_string(limits.max_transaction_rows)},
      {"dsql_rules.max_transaction_size",
       std::to_string(limits.max_transaction_bytes / 1024) + "kB"},
      {"dsql_rules.max_transaction_age", std::to_string(limits.max_transaction_age) + "s"},
      {"dsql_rules.job_delay", std::to_string(limits.index_build_delay) + "ms"},
  };
  pg_opts.should_abort = [&signals] { return signals.stop_requested(); };
  pg_opts.log = log_line;
  local::postgres_supervisor postgres(pg_opts);
  // Cheap checks (can PostgreSQL's user reach DIR?) before anything slow is made.
  postgres.prepare();

  local::certificate_request cert_request;
  cert_request.tls_dir = dir.file("tls");
  cert_request.common_name = cluster_endpoint;
  cert_request.dns_names = {cluster_endpoint, "localhost"};
  if (has_peer) cert_request.dns_names.push_back(settings.peer_cluster_endpoint());
  cert_request.ip_addresses = {"127.0.0.1", "::1"};
  cert_request.log = log_line;
  const local::tls_files tls = local::ensure_certificates(cert_request);

  local::front_options front_opts;
  front_opts.endpoints = {
      endpoint_for(settings.cluster_id, settings.region, o.listen, o.port, limits)};
  if (has_peer) {
    front_opts.endpoints.push_back(endpoint_for(settings.peer_cluster_id, settings.peer_region,
                                                o.listen, o.peer_port, limits));
  }
  front_opts.certificate_file = tls.certificate_file;
  front_opts.private_key_file = tls.private_key_file;
  front_opts.identities = {settings.admin_identity};
  front_opts.backend_socket_dir = postgres.socket_dir();
  front_opts.backend_port = backend_port;
  front_opts.backend_superuser = local::postgres_supervisor::superuser;
  front_opts.max_connection_age = std::chrono::seconds(limits.max_connection_age);
  front_opts.clock_skew = std::chrono::seconds(o.clock_skew);
  front_opts.log = log_line;
  // Binds now: a taken port is reported before PostgreSQL is started.
  local::front_server front(front_opts);

  try {
    postgres.start();
  } catch (const local::postgres_start_aborted&) {
    log_line("stopped before it was ready");
    return;
  }
  if (globals.debug) {
    log_line("PostgreSQL runs as " + postgres.os_user() + " (pid " +
             std::to_string(postgres.pid()) + "), socket in " + postgres.socket_dir());
  }

  front.prepare_backend();

  const std::string endpoint_file = dir.file("endpoint.json");
  local::endpoint_info info;
  info.hostname = "localhost";
  info.port = front.port();
  info.region = settings.region;
  info.ca_file = tls.ca_file;
  info.access_key_id = settings.admin_identity.access_key_id;
  info.secret_access_key = settings.admin_identity.secret_access_key;
  info.cluster_id = settings.cluster_id;
  info.cluster_endpoint = cluster_endpoint;
  info.principal_arn = settings.admin_identity.principal_arn;
  info.listen_address = o.listen;
  info.pid = ::getpid();
  if (has_peer) {
    info.peer = local::endpoint_info::peer_endpoint{front.port(1), settings.peer_region,
                                                    settings.peer_cluster_id,
                                                    settings.peer_cluster_endpoint()};
  }
  local::write_endpoint_json(endpoint_file, info);

  // Runs on this thread: PostgreSQL's parent-death signal is tied to the thread that started it.
  std::exception_ptr front_error;
  std::string postgres_failure;
  signals.watch(&front, [&] {
    if (auto why = postgres.exited_unexpectedly()) {
      postgres_failure = *why;
      return false;
    }
    return true;
  });
  if (!signals.stop_requested()) {
    {
      std::lock_guard<std::mutex> lock(log_mutex());
      std::cout << "dsql local: ready on localhost:" << front.port();
      if (has_peer)
        std::cout << " and, for " << settings.peer_region << ", localhost:" << front.port(1);
      std::cout << " (endpoint.json in " << dir.path() << ")" << std::endl;
    }
    try {
      front.run();
    } catch (...) {
      front_error = std::current_exception();
    }
  }
  signals.watch(nullptr);

  // endpoint.json goes first: from now on nobody should try to connect.
  local::remove_endpoint_json(endpoint_file, info.pid);
  postgres.stop();
  if (front_error) std::rethrow_exception(front_error);
  if (!postgres_failure.empty()) throw std::runtime_error(postgres_failure);
  log_line("stopped");
}

}  // namespace

void register_local_command(CLI::App& app, const global_options& globals) {
  auto options = std::make_shared<local_options>();
  CLI::App* cmd = app.add_subcommand(
      "local",
      "Run a local DSQL endpoint (PostgreSQL 15 behind a TLS front with IAM token auth) in the "
      "foreground until SIGINT or SIGTERM");
  cmd->add_option("--dir", options->dir,
                  "State directory: PostgreSQL data, TLS files, local credentials, endpoint.json")
      ->required();
  cmd->add_option("--port", options->port, "TCP port for clients; 0 picks a free one")
      ->capture_default_str();
  cmd->add_option("--region", options->region,
                  "Region of the endpoint, fixed on the first start (default us-east-1)");
  cmd->add_option("--peer-region", options->peer_region,
                  "Also serve a multi-Region peer (another cluster id, this region) over the same "
                  "database, fixed once given; DSQL LOCAL STOP|START ENDPOINT takes either down");
  cmd->add_option("--peer-port", options->peer_port, "TCP port of the peer; 0 picks a free one");
  cmd->add_option("--max-connections", options->max_connections,
                  "Open connections per endpoint before 53300 (DSQL: 10000; 0: no limit)");
  cmd->add_option("--connection-rate", options->connection_rate,
                  "New connections per second before 53400 (DSQL: 100; 0: no limit)");
  cmd->add_option("--connection-burst", options->connection_burst,
                  "Connections allowed at once above the rate (DSQL: 1000)");
  cmd->add_option("--max-transaction-rows", options->max_transaction_rows,
                  "Rows one transaction may modify (DSQL: 3000; 0: no limit)");
  cmd->add_option(
      "--max-transaction-size", options->max_transaction_bytes,
      "Bytes one transaction may write, checked at COMMIT (DSQL: 10485760; 0: no limit)");
  cmd->add_option("--max-transaction-age", options->max_transaction_age,
                  "Seconds a transaction may last (DSQL: 300)");
  cmd->add_option("--max-connection-age", options->max_connection_age,
                  "Close connections older than this many seconds (DSQL: 3600)");
  cmd->add_option("--index-build-delay", options->index_build_delay,
                  "Milliseconds an async job waits before it runs (default 1000; 0: at once)");
  cmd->add_option("--clock-skew", options->clock_skew,
                  "Accept tokens signed up to this many seconds in the future")
      ->capture_default_str();
  cmd->add_option("--listen", options->listen, "Address to listen on")->capture_default_str();
  cmd->callback([options, &globals] { run_local(*options, globals); });
}

}  // namespace dsql::cli
