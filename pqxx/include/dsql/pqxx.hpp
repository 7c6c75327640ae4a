#pragma once

/// @file
/// The DSQL connector for libpqxx users: connections opened with a fresh IAM token, a pool of
/// pqxx::connection, and OCC retry over pqxx::work. Works with libpqxx 6.x and 7.x.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <pqxx/pqxx>

#include "dsql/config.hpp"
#include "dsql/connection.hpp"
#include "dsql/errors.hpp"
#include "dsql/pool.hpp"
#include "dsql/retry.hpp"

namespace dsql {

/// Opens a pqxx::connection with the connector's parameters and a token (fresh, or reused while
/// young per the connector's options). On libpqxx 6 the connection is told never to reactivate
/// itself: a reactivation would replay the original, by then expired, token. Throws
/// connection_error (with libpq's message) when the connection fails.
std::unique_ptr<pqxx::connection> pqxx_connect(connector& source);
/// Resolves the config for this one connection; prefer a connector (or pqxx_pool) for many.
std::unique_ptr<pqxx::connection> pqxx_connect(const config& cfg);

/// OCC classification for libpqxx errors: pqxx::sql_error with SQLSTATE 40001 and an OC000/OC001
/// marker in what() (or SQLSTATE OC000/OC001, or a plain 40001 when include_plain_40001), also
/// dsql::sql_error, at any depth of std::nested_exception.
std::optional<occ_info> classify_pqxx_occ(const std::exception& e, bool include_plain_40001 = true);
/// Whether classify_pqxx_occ(e) finds an OCC conflict.
bool is_pqxx_occ_conflict(const std::exception& e);

/// A pool of pqxx::connection on the same engine as dsql::pool: every pool_option applies
/// (lifetime with jitter, idle retirement, validation, min_size and the upkeep thread, bounded
/// concurrent connects with backoff, multi-Region endpoints with failback), except
/// pool_options.after_connect, which takes a dsql::connection: pass a pqxx hook instead.
/// Thread-safe: every member may be called from any thread at once. Movable (see
/// pool_base); destroying it closes it.
class pqxx_pool : public pool_base {
 public:
  /// Move-only; gives the connection back when destroyed. Not thread-safe.
  class lease : public basic_lease<pqxx::connection, std::unique_ptr<pqxx::connection>> {
   public:
    using basic_lease::basic_lease;
  };

  /// As dsql::pool's constructor; `after_connect` runs on every new connection before its first
  /// use. Throws config_error for bad options or config, and for pool_options.after_connect.
  explicit pqxx_pool(const config& cfg, pool_options options = {},
                     std::function<void(pqxx::connection&)> after_connect = {});

  /// As dsql::pool::acquire: waits up to options().acquire_timeout.
  lease acquire() { return take<lease>(options().acquire_timeout); }
  /// The same, waiting up to `timeout`.
  lease acquire(std::chrono::milliseconds timeout) { return take<lease>(timeout); }
};

namespace detail {

// One attempt: fn(pqxx::work&) then COMMIT, returning what fn returned.
template <class Fn>
auto run_in_work(pqxx::connection& c, Fn& fn)
    -> std::decay_t<std::invoke_result_t<Fn&, pqxx::work&>> {
  using R = std::decay_t<std::invoke_result_t<Fn&, pqxx::work&>>;
  pqxx::work w(c);
  if constexpr (std::is_void_v<R>) {
    fn(w);
    w.commit();
  } else {
    R value = fn(w);
    w.commit();
    return value;
  }
}

}  // namespace detail

/// Runs fn(pqxx::work&) and commits, retrying the whole transaction on a fresh lease when it hits
/// an OCC conflict, exactly like dsql::run_transaction. pqxx::work sends a plain BEGIN, which
/// DSQL runs at repeatable read; never use a serializable transaction type (DSQL refuses it).
template <class Fn>
auto run_transaction(pqxx_pool& p, Fn&& fn, const retry_options& options = {})
    -> std::decay_t<std::invoke_result_t<Fn&, pqxx::work&>> {
  detail::retry_loop loop(options, &classify_pqxx_occ);
  for (;;) {
    try {
      auto l = p.acquire();
      try {
        return detail::run_in_work(*l, fn);
      } catch (const pqxx::broken_connection&) {
        l.release_broken();
        throw;
      }
    } catch (...) {
      loop.failed();
    }
  }
}

/// The same on connections opened one per attempt.
template <class Fn>
auto run_transaction(connector& source, Fn&& fn, const retry_options& options = {})
    -> std::decay_t<std::invoke_result_t<Fn&, pqxx::work&>> {
  detail::retry_loop loop(options, &classify_pqxx_occ);
  for (;;) {
    try {
      auto c = pqxx_connect(source);
      return detail::run_in_work(*c, fn);
    } catch (...) {
      loop.failed();
    }
  }
}

}  // namespace dsql
