#pragma once

/// @file
/// The DSQL connector for SOCI users: soci::session objects opened with a fresh IAM token over
/// verified TLS, a pool of them on the connector's pool engine, and OCC retry over
/// soci::transaction. Built for SOCI 4.0 and its PostgreSQL backend.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <soci/soci.h>

#include "dsql/config.hpp"
#include "dsql/connection.hpp"
#include "dsql/errors.hpp"
#include "dsql/lease.hpp"
#include "dsql/pool.hpp"
#include "dsql/retry.hpp"

namespace dsql {

namespace detail {
class soci_token_factory;
class blocking_pool;
}  // namespace detail

/// A soci::session opened through the connector, together with what signs the tokens of its
/// reconnects: SOCI replays its connection string on session::reconnect() (and on failover),
/// and ours carries no password, so every reconnect signs a fresh token instead of replaying
/// an expired one. Move-only. Not thread-safe, like soci::session itself.
class soci_session {
 public:
  /// No session: false; get() throws.
  soci_session() noexcept = default;
  /// For the library's own use (soci_connect): a session and what signs its reconnects' tokens.
  soci_session(std::shared_ptr<detail::soci_token_factory> factory,
               std::unique_ptr<::soci::session> session) noexcept;
  /// Closes the session.
  ~soci_session();
  /// Takes the other's session, leaving it empty.
  soci_session(soci_session&&) noexcept;
  /// Closes this session and takes the other's, leaving it empty.
  soci_session& operator=(soci_session&&) noexcept;
  soci_session(const soci_session&) = delete;
  soci_session& operator=(const soci_session&) = delete;

  /// Throws lease_error when this object holds no session (moved from).
  ::soci::session& get() const;
  /// get().
  ::soci::session& operator*() const { return get(); }
  /// &get().
  ::soci::session* operator->() const { return &get(); }
  /// Whether this object holds a session (false when default-constructed or moved from).
  explicit operator bool() const noexcept { return session_ != nullptr; }

 private:
  // Declared first so that it outlives the session, which points at it.
  std::shared_ptr<detail::soci_token_factory> factory_;
  std::unique_ptr<::soci::session> session_;
};

/// Opens a session with the connector's parameters (verify-full TLS, its root certificates,
/// application_name, timeouts) and a token, fresh or reused while young per the connector's
/// options; config.on_notice receives the server's notices. `source` is shared with the session
/// so that its reconnects can sign. Throws auth_error (refused login, with a diagnosis),
/// connection_error, config_error or credentials_error.
soci_session soci_connect(std::shared_ptr<connector> source);
/// Resolves the config for this one session; prefer a soci_pool for many.
soci_session soci_connect(const config& cfg);

/// OCC classification for SOCI's errors: soci::postgresql_soci_error whose SQLSTATE is 40001
/// with an OC000/OC001 marker in what() (or SQLSTATE OC000/OC001, or a plain 40001 when
/// include_plain_40001), also dsql::sql_error, at any depth of std::nested_exception.
std::optional<occ_info> classify_soci_occ(const std::exception& e, bool include_plain_40001 = true);
/// Whether classify_soci_occ(e) finds an OCC conflict.
bool is_soci_occ_conflict(const std::exception& e);

/// A pool of soci::session on the same engine as dsql::pool: every pool_option applies
/// (lifetime with jitter, idle retirement, validation, min_size and the upkeep thread, bounded
/// concurrent connects with backoff, multi-Region endpoints with failback), except
/// pool_options.after_connect, which takes a dsql::connection: pass a SOCI hook instead.
/// Thread-safe: every member may be called from any thread at once. Movable (see
/// pool_base); destroying it closes it.
class soci_pool : public pool_base {
 public:
  /// Move-only; gives the session back when destroyed (rolled back first if a transaction was
  /// left open). Not thread-safe.
  class lease : public basic_lease<::soci::session, std::unique_ptr<::soci::session>> {
   public:
    using basic_lease::basic_lease;
  };

  /// As dsql::pool's constructor; `after_connect` runs on every new session before its first
  /// use. Throws config_error for bad options or config, and for pool_options.after_connect.
  explicit soci_pool(const config& cfg, pool_options options = {},
                     std::function<void(::soci::session&)> after_connect = {});

  /// As dsql::pool::acquire: waits up to options().acquire_timeout.
  lease acquire() { return take<lease>(options().acquire_timeout); }
  /// The same, waiting up to `timeout`.
  lease acquire(std::chrono::milliseconds timeout) { return take<lease>(timeout); }
};

namespace detail {

// Whether the session's connection is open and outside any transaction; used to decide
// whether a session whose attempt failed can go back to a pool.
bool soci_session_idle(::soci::session& s) noexcept;

// One attempt: fn(session&) inside a soci::transaction, then COMMIT.
template <class Fn>
auto run_in_soci_transaction(::soci::session& s, Fn& fn)
    -> std::decay_t<std::invoke_result_t<Fn&, ::soci::session&>> {
  using R = std::decay_t<std::invoke_result_t<Fn&, ::soci::session&>>;
  ::soci::transaction tr(s);
  if constexpr (std::is_void_v<R>) {
    fn(s);
    tr.commit();
  } else {
    R value = fn(s);
    tr.commit();
    return value;
  }
}

}  // namespace detail

/// Runs fn(soci::session&) inside a soci::transaction and commits, retrying the whole
/// transaction on a fresh lease when it hits an OCC conflict, exactly like
/// dsql::run_transaction; any other error is rethrown after rollback. soci::transaction sends
/// a plain BEGIN, which DSQL runs at repeatable read. fn must be safe to run more than once.
template <class Fn>
auto run_transaction(soci_pool& p, Fn&& fn, const retry_options& options = {})
    -> std::decay_t<std::invoke_result_t<Fn&, ::soci::session&>> {
  detail::retry_loop loop(options, &classify_soci_occ);
  for (;;) {
    try {
      auto l = p.acquire();
      try {
        return detail::run_in_soci_transaction(*l, fn);
      } catch (...) {
        // soci::transaction rolled back on the way out; a session that could not is closed.
        if (!detail::soci_session_idle(*l)) l.release_broken();
        throw;
      }
    } catch (...) {
      loop.failed();
    }
  }
}

/// The same on sessions opened one per attempt.
template <class Fn>
auto run_transaction(const std::shared_ptr<connector>& source, Fn&& fn,
                     const retry_options& options = {})
    -> std::decay_t<std::invoke_result_t<Fn&, ::soci::session&>> {
  detail::retry_loop loop(options, &classify_soci_occ);
  for (;;) {
    try {
      soci_session s = soci_connect(source);
      return detail::run_in_soci_transaction(*s, fn);
    } catch (...) {
      loop.failed();
    }
  }
}

}  // namespace dsql
