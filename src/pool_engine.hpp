#pragma once

// The one pool engine: when to hand out, check, open, retire and fail over connections, for every
// pool (blocking, libpqxx, asynchronous). It does no I/O and reads no clock: callers pass `now`,
// do what it asks outside their lock, and report back. Not thread-safe: each front end guards it
// with its own lock.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "dsql/lease.hpp"
#include "dsql/pool.hpp"

namespace dsql::detail {

using steady = std::chrono::steady_clock;
using slot_ptr = std::unique_ptr<pooled_slot>;
// Slots leaving the pool, to be destroyed (closed) once the caller's lock is released.
using doomed_slots = std::vector<slot_ptr>;

// What an idle connection needs before it is handed out.
enum class check_level {
  none,    // given back under a millisecond ago: it was checked then
  socket,  // a non-blocking look at the socket: notices a connection the server closed
  query,   // a round trip ("SELECT 1"), after validate_idle_after
};

class pool_engine {
 public:
  pool_engine(pool_options options, std::size_t endpoint_count,
              std::uint64_t seed = std::random_device{}());

  const pool_options& options() const noexcept { return opts_; }
  bool closed() const noexcept { return closed_; }

  struct step {
    enum kind_t { use, connect, wait } kind = wait;
    slot_ptr slot;  // use: counted in use; apply `check` before handing it out
    check_level check = check_level::none;
    std::size_t endpoint = 0;  // connect: the endpoint to try first; counted as connecting
    // wait: a connect backoff ends then (max when only a returned connection can help).
    steady::time_point wake_at = steady::time_point::max();
  };
  // One decision for one acquirer: the most recently returned idle connection, a new
  // connection, or a wait. Throws pool_closed_error once closed. `allow_connect` false: the
  // caller already has a connect in flight for each of its waiters.
  step next(steady::time_point now, doomed_slots& doomed, bool allow_connect = true);

  // The slot of a `use` step failed its check (`broken`) or was not wanted after all.
  void discard(slot_ptr slot, bool broken, doomed_slots& doomed);

  // A connect failed with `error` (its message appears in later timeout errors).
  void connect_failed(const std::exception_ptr& error, steady::time_point now);
  // A connect was refused for rate (53400): not a failure of the endpoint, so failover and the
  // failure backoff are untouched; new connects wait a jittered rate backoff instead. Returns
  // when connects may start again, so that the caller can tell whether its deadline allows.
  steady::time_point connect_rate_limited(const std::string& what, steady::time_point now);
  // A connect of a `connect` step (or of upkeep) succeeded at `endpoint`: the slot is dated and
  // counted in use. After close() it is doomed instead, and null is returned.
  slot_ptr connected(slot_ptr slot, std::size_t endpoint, steady::time_point now,
                     doomed_slots& doomed);

  // The holder gives a slot back; `reusable`: the adapter found it clean. True when it became
  // idle (a waiter can have it); otherwise it is doomed and its place is free.
  bool give_back(slot_ptr slot, bool reusable, steady::time_point now, doomed_slots& doomed);

  // Periodic: retires idle connections past their lifetime or idle too long (keeping min_size),
  // and names the endpoint for a connect towards min_size (then counted as connecting).
  std::optional<std::size_t> upkeep(steady::time_point now, doomed_slots& doomed);

  // Stops handing out connections; the idle ones are doomed. Idempotent.
  void close(doomed_slots& doomed);

  void count_acquire() noexcept { ++counters_.acquires; }
  void count_wait() noexcept { ++counters_.waits; }
  // Counts a timed-out acquire and says why, for its error.
  std::string timed_out(std::chrono::milliseconds timeout);

  pool_stats stats() const;
  std::size_t in_use() const noexcept { return in_use_; }
  std::size_t connecting() const noexcept { return connecting_; }
  std::size_t current_endpoint() const noexcept { return current_; }
  // Before this no connect starts (a backoff); a past time point when there is none.
  steady::time_point connects_allowed_at() const noexcept { return next_connect_at_; }

 private:
  std::size_t open() const noexcept { return idle_.size() + in_use_; }
  bool may_connect(steady::time_point now) const noexcept;
  std::size_t first_endpoint(steady::time_point now) const noexcept;
  steady::time_point expiry(steady::time_point created);
  steady::duration backoff(std::chrono::milliseconds cap, unsigned count);
  void retire_idle(steady::time_point now, doomed_slots& doomed);

  pool_options opts_;
  std::size_t endpoint_count_;
  std::vector<slot_ptr> idle_;  // back() was given back last
  std::size_t in_use_ = 0;
  std::size_t connecting_ = 0;
  bool closed_ = false;
  pool_stats counters_;

  std::size_t current_ = 0;
  steady::time_point switched_at_{};
  unsigned failures_ = 0;       // consecutive failed connects
  unsigned rate_refusals_ = 0;  // consecutive connects refused for rate
  steady::time_point next_connect_at_{};
  std::string last_connect_error_;
  std::mt19937_64 rng_;
};

// One new connection across the endpoints, from the engine's first choice: a connection_error
// moves on to the next endpoint (wrapping around), anything else (credentials, configuration)
// would fail everywhere and stops the walk.
class failover_walk {
 public:
  failover_walk(std::size_t start, std::size_t count) : start_(start), count_(count) {}

  std::size_t endpoint() const noexcept { return (start_ + tried_) % count_; }
  // With one endpoint its own error is the one to report.
  bool single() const noexcept { return count_ == 1; }
  // After a connection_error at endpoint(): true when another endpoint is left to try.
  bool failed(const std::string& endpoint_name, const std::string& what);
  // When none is left: names every endpoint and why it failed.
  connection_error error() const;

 private:
  std::size_t start_, count_, tried_ = 0;
  std::string failures_;
};

}  // namespace dsql::detail
