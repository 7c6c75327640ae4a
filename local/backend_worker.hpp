#pragma once

// A connection of the front's own to the backing PostgreSQL (as its superuser), with one worker
// thread: libpq is blocking, so queries run there and callers get results in callbacks on that
// thread (they post them to their executor). Used for the IAM role mappings and for the
// write-conflict checks, each with a worker of its own. Thread-safe.
//
// A connection that PostgreSQL dropped (a crashed backend restarted, a server restart) is made
// again, and a job that met the broken connection runs once more on the new one.

#include <libpq-fe.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dsql::local {

struct pg_result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using pg_result = std::unique_ptr<PGresult, pg_result_deleter>;

// PQexecParams with text parameters.
pg_result pg_exec(PGconn* conn, const char* sql, const std::vector<std::string>& params = {});

struct backend_worker_options {
  std::string socket_dir;
  std::uint16_t port = 5432;
  std::string user;
  std::string application_name;
  // Session settings: the front's own queries are bounded, so that a lock held by a client
  // (LOCK TABLE, a long transaction) can delay them but never hang them.
  std::string options = "-c statement_timeout=5s -c lock_timeout=2s -c client_min_messages=warning";
  // Run on every new connection (e.g. making the front's objects); empty: nothing.
  std::string setup_sql;
  std::function<void(const std::string&)> log;
};

class backend_worker {
 public:
  // A job gets the connection (nullptr when PostgreSQL cannot be reached) and whether this is
  // its last attempt. It returns false, without reporting anything, when the connection broke
  // under it and it wants to run again on a fresh one; on its last attempt it must report.
  using job = std::function<bool(PGconn* conn, bool last_attempt)>;

  explicit backend_worker(backend_worker_options options);
  ~backend_worker();
  backend_worker(const backend_worker&) = delete;
  backend_worker& operator=(const backend_worker&) = delete;

  void post(job j);
  // Finishes queued work and joins the worker; later posts are dropped.
  void stop();

  // Whether a failed query failed because the connection is gone (worth a retry on a new one):
  // libpq may still call the connection OK after the server dropped it, so the result says too.
  static bool connection_lost(PGconn* conn, const pg_result& failed);

 private:
  void run();
  PGconn* connection();
  void drop_connection();
  static void on_notice(void* self, const char* message);

  backend_worker_options options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> jobs_;
  bool stopping_ = false;
  PGconn* conn_ = nullptr;
  std::thread worker_;
};

}  // namespace dsql::local
