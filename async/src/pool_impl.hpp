#pragma once

// The asynchronous front end of the pool engine: acquires wait in a queue under one deadline timer,
// connects and checks run as asynchronous operations, and every decision is the engine's.

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dsql/async/pool.hpp"
#include "pool_endpoints.hpp"
#include "pool_engine.hpp"

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio/steady_timer.hpp>
#else
#include <asio/steady_timer.hpp>
#endif

namespace dsql::detail {

using acquire_done = completion<std::exception_ptr, async_lease>;

class async_pool_impl final : public slot_owner,
                              public std::enable_shared_from_this<async_pool_impl> {
 public:
  async_pool_impl(const net::any_io_executor& ex, const config& cfg, pool_options options,
                  async_options connection_options);

  const net::any_io_executor& executor() const noexcept { return ex_; }
  const pool_options& options() const noexcept { return engine_.options(); }
  // With min_size: starts filling the pool.
  void start();
  // From any thread; completes on `done`'s executor, never inline.
  void acquire(std::chrono::milliseconds timeout, acquire_done done);
  void give_back(slot_ptr slot, bool broken) noexcept override;

  pool_stats stats() const;
  std::string current_endpoint() const;
  void close();
  bool closed() const;

 private:
  struct waiter {
    acquire_done done;
    std::chrono::milliseconds timeout{};
    steady::time_point deadline{};
    bool finished = false;     // answered; under the lock
    bool has_connect = false;  // a connect was started for it and is in flight
  };
  using waiter_ptr = std::shared_ptr<waiter>;

  // What to do once the lock is released: completions, and operations to start.
  struct actions {
    std::vector<std::pair<waiter_ptr, std::exception_ptr>> failures;
    std::vector<std::pair<waiter_ptr, slot_ptr>> grants;
    std::vector<std::pair<std::size_t, waiter_ptr>> connects;
    struct check {
      waiter_ptr w;
      slot_ptr slot;
      check_level level;
    };
    std::vector<check> checks;
    doomed_slots doomed;  // last: closed after everything else
  };

  void enqueue(const waiter_ptr& w);
  void pump();
  void pump_locked(steady::time_point now, actions& todo);
  void run(actions& todo);
  void grant_locked(waiter_ptr w, slot_ptr slot, actions& todo);
  void fail_locked(waiter_ptr w, std::exception_ptr e, actions& todo);
  void give_up(const waiter_ptr& w);  // cancelled by its caller
  void upkeep_locked(steady::time_point now, actions& todo);
  // Keeps the timers running while the pool is in use, and only then.
  void settle_locked();
  void update_upkeep_locked();
  void arm_backoff_locked(steady::time_point at);
  // One timer for every waiter's deadline, armed for the earliest: waiters come and go far
  // more often than they time out.
  void arm_deadline_locked(steady::time_point at);
  void deadline_passed(unsigned generation);

  void connect(failover_walk walk, waiter_ptr owner);
  void connected(std::size_t endpoint, async_connection c, const waiter_ptr& owner);
  void connect_failed(std::exception_ptr e, const waiter_ptr& owner);
  void check(actions::check c);
  void checked(const waiter_ptr& w, slot_ptr slot, bool ok);
  void returned(slot_ptr slot, bool reusable);

  net::any_io_executor ex_;
  std::vector<pool_endpoint> endpoints_;
  async_options connection_options_;

  mutable std::mutex m_;
  pool_engine engine_;
  std::deque<waiter_ptr> waiters_;        // waiting for a connection, oldest first
  std::size_t connects_for_waiters_ = 0;  // connects in flight that waiters asked for
  bool pump_posted_ = false;
  net::steady_timer upkeep_timer_;
  bool upkeep_armed_ = false;
  unsigned upkeep_generation_ = 0;
  steady::time_point last_upkeep_{};
  net::steady_timer deadline_timer_;
  bool deadline_armed_ = false;
  steady::time_point deadline_at_{};
  unsigned deadline_generation_ = 0;
  net::steady_timer backoff_timer_;
  bool backoff_armed_ = false;
  steady::time_point backoff_at_{};
  unsigned backoff_generation_ = 0;
};

}  // namespace dsql::detail
