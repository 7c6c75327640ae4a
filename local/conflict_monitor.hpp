#pragma once

// Watches for client statements waiting on another transaction's lock, and settles each wait
// within a few milliseconds as DSQL would have (see conflict_adjudicator.hpp). A statement that
// has run for 2 ms is checked against pg_stat_activity and pg_blocking_pids(), again every few
// milliseconds while it runs. Lives on the front's I/O thread; its queries run on a
// backend_worker of its own.

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "local/backend_worker.hpp"
#include "local/conflict_adjudicator.hpp"

namespace dsql::local {

class session;

class conflict_monitor {
 public:
  // `find` maps a backend pid to its client session (nullptr: not a client's).
  conflict_monitor(asio::io_context& io, backend_worker_options options,
                   std::function<std::shared_ptr<session>(std::uint32_t)> find);

  // A session sent a statement; it has an answer (or closed).
  void statement_started(session& s);
  void statement_finished(session& s);
  void stop();

 private:
  struct watched {
    std::chrono::steady_clock::time_point next_check;
    std::chrono::milliseconds interval;
  };
  void schedule();
  void check();
  void settle(const std::vector<lock_wait>& waits);

  asio::io_context& io_;
  asio::steady_timer timer_;
  backend_worker worker_;
  std::function<std::shared_ptr<session>(std::uint32_t)> find_;
  std::unordered_map<session*, watched> busy_;
  bool timer_armed_ = false;
  bool query_in_flight_ = false;
  bool stopped_ = false;
};

}  // namespace dsql::local
