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

// A timer armed for the earliest of the times it is asked for, or not at all. A completion for
// an arming since replaced or undone is told apart by its generation. Used under a lock.
class earliest_timer {
 public:
  explicit earliest_timer(const net::any_io_executor& ex) : timer_(ex) {}

  // Arms it for `at` unless it is armed for no later; fire(generation) runs when that comes.
  template <class Fire>
  void arm(steady::time_point at, Fire fire) {
    if (armed_ && at_ <= at) return;
    armed_ = true;
    at_ = at;
    const unsigned generation = ++generation_;
    timer_.expires_at(at);
    timer_.async_wait([fire = std::move(fire), generation](const auto& ec) mutable {
      if (!ec) fire(generation);
    });
  }
  // In fire's handler: true (and disarmed) when this is still the current arming.
  bool take(unsigned generation) noexcept {
    if (!armed_ || generation != generation_) return false;
    armed_ = false;
    return true;
  }
  void disarm() {
    if (!armed_) return;
    armed_ = false;
    ++generation_;
    timer_.cancel();
  }

 private:
  net::steady_timer timer_;
  bool armed_ = false;
  steady::time_point at_{};
  unsigned generation_ = 0;
};

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
  earliest_timer upkeep_;  // every upkeep_interval, while the pool is in use
  steady::time_point last_upkeep_{};
  earliest_timer deadline_;  // the earliest waiter's acquire timeout
  earliest_timer backoff_;   // the end of a connect backoff, while someone waits
};

}  // namespace dsql::detail
