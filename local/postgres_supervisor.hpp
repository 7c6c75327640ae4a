#pragma once

// The PostgreSQL 15 cluster behind `dsql local`: found, initialised on first start, run as a child
// process that only listens on a private Unix socket, and stopped so that no process survives.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dsql::local {

// Where initdb and postgres live: $DSQL_LOCAL_PG_BINDIR when set (and then only there), else
// /usr/lib/postgresql/15/bin, else `pg_config --bindir`. Throws std::runtime_error naming the
// package to install.
std::string find_postgres_bindir();

struct postgres_options {
  std::string bindir;      // from find_postgres_bindir()
  std::string data_dir;    // DIR/pgdata
  std::string socket_dir;  // DIR/run: holds .s.PGSQL.<port>; must be a short path
  std::string log_file;    // DIR/postgres.log: initdb and server output
  // Only names the socket file: the server never listens on TCP.
  std::uint16_t port = 5432;
  // Where the dsql_rules library (DSQL's SQL rules) is; it is preloaded into every backend.
  // Empty: plain PostgreSQL.
  std::string library_dir;
  // Connection slots for clients; the front's quota is what clients meet, so this is sized above
  // it (see front_options::max_connections).
  int max_connections = 100;
  // Further server settings, passed as -c name=value (e.g. dsql_rules' limits).
  std::vector<std::pair<std::string, std::string>> settings;
  std::chrono::seconds startup_timeout{60};
  std::chrono::seconds shutdown_timeout{30};
  // Polled while waiting for initdb or the server; true abandons the start (SIGINT at startup).
  std::function<bool()> should_abort;
  // Progress lines for the user.
  std::function<void(const std::string&)> log;
};

// Thrown by start() when should_abort() turned true.
struct postgres_start_aborted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class postgres_supervisor {
 public:
  // The superuser initdb creates; the front uses it for its own bookkeeping.
  static constexpr const char* superuser = "postgres";

  explicit postgres_supervisor(postgres_options options);
  // Stops the server if it runs.
  ~postgres_supervisor();
  postgres_supervisor(const postgres_supervisor&) = delete;
  postgres_supervisor& operator=(const postgres_supervisor&) = delete;

  // Checks that the server's system user can reach DIR and creates the socket directory; cheap,
  // so callers run it before slower setup to fail early. start() runs it too.
  void prepare();
  // Initialises the cluster if needed, starts the postmaster, waits until it accepts connections
  // and makes sure the `admin` role exists. Must be called from a thread that outlives the server
  // (the server gets SIGINT when that thread dies). Throws std::runtime_error.
  void start();
  // Fast shutdown, escalating to immediate and then SIGKILL of the whole process group; returns
  // when the postmaster has been reaped. Idempotent.
  void stop() noexcept;

  // When the server has exited on its own since start() (crash, OOM kill, someone's kill -9):
  // reaps it and says how it ended. Not to be called concurrently with start() or stop().
  std::optional<std::string> exited_unexpectedly();

  bool running() const noexcept { return pid_ > 0; }
  // Where the server's socket is, once prepare() ran: DIR/run, or a private directory under /tmp
  // when DIR's path cannot hold it.
  const std::string& socket_dir() const noexcept { return options_.socket_dir; }
  pid_t pid() const noexcept { return pid_; }
  // The system user the server runs as: "postgres" (or "nobody") when started as root, else the
  // current user.
  const std::string& os_user() const noexcept { return os_user_; }

 private:
  struct os_identity {
    bool switch_user = false;
    uid_t uid = 0;
    gid_t gid = 0;
  };

  void initdb();
  void stop_orphaned_postmaster();
  void wait_until_ready();
  void ensure_admin_role();
  std::string log_tail() const;
  void say(const std::string& line) const;
  bool aborted() const;

  postgres_options options_;
  os_identity identity_;
  std::string os_user_;
  pid_t pid_ = -1;
  std::string runtime_dir_;  // made for an awkward DIR; removed with the supervisor
};

}  // namespace dsql::local
