#pragma once

/// @file
/// A pool of async_connection on the same engine and options as dsql::pool: lifetime with jitter,
/// idle retirement, validation before use, bounded concurrent connects with backoff,
/// multi-Region failover and failback, statistics. Waiting is on Asio timers, never a thread.

#include <chrono>
#include <exception>
#include <memory>
#include <string>

#include "dsql/async/completion.hpp"
#include "dsql/async/connection.hpp"
#include "dsql/async/net.hpp"
#include "dsql/config.hpp"
#include "dsql/lease.hpp"
#include "dsql/pool.hpp"

namespace dsql {

/// Exclusive use of one pooled async_connection. Move-only; gives the connection back when
/// destroyed, from any thread. One given back inside a transaction is rolled back (without
/// blocking) before anyone else gets it; a closed, busy or broken one is discarded. Not
/// thread-safe: one task uses it at a time.
class async_lease : public basic_lease<async_connection> {
 public:
  using basic_lease::basic_lease;
};

namespace detail {
class async_pool_impl;
}  // namespace detail

/// A pool of async_connection on the shared engine, for Asio programs. Thread-safe: every member
/// may be called from any thread, and its operations complete on the
/// caller's executor (the pool's when the completion handler has none). Movable: leases out and
/// operations already started are unaffected, and a moved-from pool acts as a closed one (its
/// members throw pool_closed_error; close() and closed() still answer).
///
/// Timers run only while the pool is in use (leases out, acquires waiting, connects in flight,
/// or fewer than min_size connections), so that io_context::run() returns once the application is
/// done with it; retirement of idle connections resumes at the next use.
class async_pool {
 public:
  /// The executor the pool's connections and timers run on.
  using executor_type = net::any_io_executor;

  /// Resolves the config once per endpoint (the environment, and the shared config file when a
  /// profile must give the region: construct pools at start-up, not in a handler). Opens no
  /// connection; with min_size it starts filling at once. Throws config_error for bad options or
  /// config, and for pool_options.after_connect (it takes a blocking dsql::connection: use
  /// async_options::after_connect).
  async_pool(const executor_type& ex, const config& cfg, pool_options options = {},
             async_options connection_options = {});
  /// Closes the pool (see close()).
  ~async_pool();
  /// Takes over `other`'s connections, leases and operations; `other` acts as closed.
  async_pool(async_pool&& other) noexcept;
  /// Closes this pool (see close()), then takes over `other`'s.
  async_pool& operator=(async_pool&& other) noexcept;
  async_pool(const async_pool&) = delete;
  async_pool& operator=(const async_pool&) = delete;

  /// The executor the pool was made with.
  executor_type get_executor() const;

  /// Completes with (std::exception_ptr, async_lease) within options().acquire_timeout:
  /// pool_closed_error, pool_timeout_error (naming the last connect failure), cancelled_error, or
  /// the error of a connect made for this call (an auth_error with its diagnosis...). Any
  /// cancellation type is honoured: an acquire that gives up has no side effects.
  template <class Token>
  auto async_acquire(Token&& token) {
    return async_acquire(options().acquire_timeout, std::forward<Token>(token));
  }
  /// The same within `timeout` instead of options().acquire_timeout.
  template <class Token>
  auto async_acquire(std::chrono::milliseconds timeout, Token&& token) {
    return net::async_initiate<Token, void(std::exception_ptr, async_lease)>(
        [](auto handler, async_pool* self, std::chrono::milliseconds t) {
          self->start_acquire(t, detail::completion<std::exception_ptr, async_lease>(
                                     std::move(handler), self->get_executor()));
        },
        token, this, timeout);
  }

  /// A snapshot of the pool's counters and gauges.
  pool_stats stats() const;
  /// The options the pool was made with, as validated.
  const pool_options& options() const;
  /// The "host:port" that new connections go to now.
  std::string current_endpoint() const;
  /// Stops handing out connections: waiting and later acquires get pool_closed_error, idle
  /// connections are closed, timers stop. Leases still out stay usable; their connections are
  /// closed when they come back. Does not wait. Idempotent.
  void close();
  /// Whether close() was called (or the pool was moved from).
  bool closed() const;

  /// For the library's own use (async_run_transaction). Throws pool_closed_error when moved from.
  const std::shared_ptr<detail::async_pool_impl>& impl() const;

 private:
  void start_acquire(std::chrono::milliseconds timeout,
                     detail::completion<std::exception_ptr, async_lease> done);

  std::shared_ptr<detail::async_pool_impl> impl_;
};

}  // namespace dsql
