#pragma once

/// @file
/// A thread-safe pool of DSQL connections. The pool decides *when* to open, check and retire
/// connections; the connector (one per endpoint, owned by the pool) decides *how*: credentials are
/// resolved once and every physical connection gets a token signed for its own host and region.
/// The same engine (and these options) drive dsql::pqxx_pool, dsql::soci_pool and
/// dsql::async_pool.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dsql/config.hpp"
#include "dsql/connection.hpp"
#include "dsql/errors.hpp"
#include "dsql/lease.hpp"

namespace dsql {

/// How a pool sizes, checks and retires its connections; shared by dsql::pool, dsql::pqxx_pool,
/// dsql::soci_pool and dsql::async_pool, and checked by validate() when a pool is made. A plain
/// value: copy it freely.
struct pool_options {
  /// Connections kept open even when idle; the upkeep thread refills to this.
  std::size_t min_size = 0;
  /// The most connections open at once (idle, in use or connecting).
  std::size_t max_size = 10;
  /// How long acquire() waits when every connection is busy (or the endpoint is down).
  std::chrono::milliseconds acquire_timeout = std::chrono::seconds(30);
  /// DSQL closes connections after 60 minutes without an error; retire them before that.
  std::chrono::milliseconds max_lifetime = std::chrono::minutes(55);
  /// Up to this share of max_lifetime is subtracted, uniformly at random, per connection, so that
  /// connections opened together do not all reconnect together. 0 disables it; below 1.
  double max_lifetime_jitter = 0.1;
  /// Idle connections beyond min_size are closed after this long.
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(10);
  /// A connection idle longer than this runs "SELECT 1" before it is handed out (0: whenever it
  /// was idle over a millisecond). Shorter idle times get only a non-blocking socket check, which
  /// is enough to notice a connection the server has closed.
  std::chrono::milliseconds validate_idle_after = std::chrono::seconds(30);
  /// Runs on every new connection before first use (e.g. SET search_path). If it throws, the
  /// connection is closed and the exception reaches the caller of acquire().
  std::function<void(connection&)> after_connect;
  /// Connects in flight at once, so that a burst of demand is not a burst of logins (DSQL
  /// limits the connection rate per cluster).
  std::size_t max_concurrent_connects = 2;
  /// After a failed connect, new connects wait initial * 2^(failures-1), capped, with half of it
  /// random (so that many pools recovering from one outage spread out).
  std::chrono::milliseconds connect_backoff_initial = std::chrono::milliseconds(100);
  /// The cap of the wait after failed connects (see connect_backoff_initial).
  std::chrono::milliseconds connect_backoff_max = std::chrono::seconds(5);
  /// A connect refused for rate (SQLSTATE 53400) is not an outage: it is retried, unseen by the
  /// acquirer while its timeout allows, after connect_backoff_initial * 2^(refusals-1) capped
  /// here, with half of it random. A low cap keeps the pool close to the rate the cluster
  /// allows; the randomness keeps pools that were refused together from retrying together.
  std::chrono::milliseconds rate_limit_backoff_max = std::chrono::seconds(1);
  /// How often the upkeep thread retires old or idle connections and refills to min_size.
  std::chrono::milliseconds upkeep_interval = std::chrono::seconds(1);
  /// Passed to the connector: new connections reuse a token until this share of its lifetime
  /// has passed (0 signs one per connection). At 0.8 a 900 s token serves 12 minutes.
  double token_reuse_fraction = 0.8;

  /// Multi-Region: the endpoints of the peered clusters in order of preference, each "host" or
  /// "host:port" (a port here overrides config.port). Empty: config.host alone. Each endpoint has
  /// its own connector, so its tokens are signed for its own host and region (the region comes
  /// from the host name, AWS_REGION is only the fallback; an explicit config.region applies to
  /// every endpoint and wins over their names, so leave it empty for peers in several Regions,
  /// or set config.on_warning to hear of it). New connections go to the current
  /// endpoint; when a connect fails there, the next endpoints are tried in order (wrapping
  /// around) and the first that works becomes current. While the current endpoint is not the
  /// first, the first is tried again once failback_after has passed since the switch.
  std::vector<std::string> endpoints;
  /// How long after a switch away from the first endpoint it is tried again (see endpoints).
  std::chrono::milliseconds failback_after = std::chrono::seconds(60);
};

/// Throws config_error when the options cannot work.
void validate(const pool_options& options);

/// A snapshot of a pool: gauges at that moment, counters since the pool was made. A plain value:
/// copy it freely.
struct pool_stats {
  std::size_t open = 0;        ///< idle + in_use
  std::size_t idle = 0;        ///< open and waiting in the pool
  std::size_t in_use = 0;      ///< leased out
  std::size_t connecting = 0;  ///< connects in flight
  std::uint64_t acquires = 0;  ///< acquire calls, whatever their outcome
  std::uint64_t waits = 0;     ///< acquires that had to wait
  std::uint64_t timeouts = 0;  ///< acquires that gave up
  std::uint64_t created = 0;   ///< connections opened
  std::uint64_t retired = 0;   ///< closed because of age, idleness, close() or a failed check
  std::uint64_t broken = 0;    ///< discarded because they were broken or released as broken
  std::uint64_t failed_connects = 0;  ///< connects that failed, rate refusals excluded
  std::uint64_t rate_limited = 0;     ///< connects refused for rate (53400) and retried; not failed
  std::size_t endpoint_index = 0;     ///< index in endpoints of the current endpoint
};

namespace detail {
class blocking_pool;
}  // namespace detail

/// What every blocking pool (dsql::pool, dsql::pqxx_pool, dsql::soci_pool) offers besides
/// acquire(): one front end over the shared engine. Thread-safe: every member may be called from
/// any thread at once. Movable: leases already out are unaffected, and a moved-from pool acts as
/// a closed one (its members throw pool_closed_error; close() and closed() still answer).
class pool_base {
 public:
  /// Takes over `other`'s pool (its connections, leases and waiters); `other` acts as closed.
  pool_base(pool_base&& other) noexcept;
  /// Closes this pool (as close() does, without waiting), then takes over `other`'s.
  pool_base& operator=(pool_base&& other) noexcept;
  pool_base(const pool_base&) = delete;
  pool_base& operator=(const pool_base&) = delete;

  /// Counts and sizes at this moment.
  pool_stats stats() const;
  /// The options the pool was made with, as validated.
  const pool_options& options() const;
  /// The "host:port" that new connections go to now.
  std::string current_endpoint() const;
  /// Stops handing out connections: waiters and later acquires get pool_closed_error, idle
  /// connections are closed, the upkeep thread stops. Leases still out are not interrupted; this
  /// waits up to wait_for_leases for them to come back and returns true when none is left out.
  /// Idempotent.
  bool close(std::chrono::milliseconds wait_for_leases = std::chrono::milliseconds(0));
  /// True once close() was called (or the pool was moved from).
  bool closed() const;

 protected:
  /// For the derived pools: a front end over `engine`, which they have started.
  explicit pool_base(std::shared_ptr<detail::blocking_pool> engine) noexcept;
  /// Closes the pool; leases still out stay usable and their connections are closed on return.
  ~pool_base();

  /// A lease of type Lease on a connection, waiting up to `timeout`.
  template <class Lease>
  Lease take(std::chrono::milliseconds timeout) {
    auto slot = acquire_slot(timeout);
    return Lease(owner(), std::move(slot));
  }

 private:
  detail::blocking_pool& engine() const;
  std::unique_ptr<detail::pooled_slot> acquire_slot(std::chrono::milliseconds timeout);
  std::shared_ptr<detail::slot_owner> owner() const;

  std::shared_ptr<detail::blocking_pool> engine_;
};

/// Exclusive use of one pooled dsql::connection, from dsql::pool. Move-only; gives the connection
/// back when destroyed. A connection given back with a transaction open is rolled back (or closed
/// if that fails); a broken one is closed, never handed out again. Not thread-safe: one thread uses
/// it at a time.
class lease : public basic_lease<connection> {
 public:
  using basic_lease::basic_lease;
};

/// A pool of libpq connections (dsql::connection). Thread-safe: every member may be called from
/// any thread at once. Movable (see pool_base); destroying it closes it.
class pool : public pool_base {
 public:
  /// Resolves the config (once per endpoint) and starts the upkeep thread; does not wait for a
  /// connection. Throws config_error for bad options or config.
  explicit pool(const config& cfg, pool_options options = {});

  /// Waits up to options().acquire_timeout. Throws pool_closed_error, pool_timeout_error, or the
  /// error of a connect (or after_connect hook) made for this call.
  lease acquire() { return take<lease>(options().acquire_timeout); }
  /// The same, waiting up to `timeout`.
  lease acquire(std::chrono::milliseconds timeout) { return take<lease>(timeout); }
};

}  // namespace dsql
