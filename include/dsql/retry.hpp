#pragma once

/// @file
/// Optimistic-concurrency retry. DSQL reports a conflict as SQLSTATE 40001 with "(OC000)" (data)
/// or "(OC001)" (schema) in the message, and the whole transaction must run again. Retry sits on
/// top of the pool: every attempt takes a fresh lease, never the connection whose COMMIT failed.

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "dsql/connection.hpp"
#include "dsql/errors.hpp"
#include "dsql/pool.hpp"
#include "dsql/result.hpp"

namespace dsql {

/// Which kind of optimistic-concurrency conflict an error is.
enum class occ_kind {
  data,           ///< OC000: a concurrent transaction changed the same rows
  schema,         ///< OC001: the catalog changed (DDL, GRANT, REVOKE)
  serialization,  ///< 40001 without an OC marker: PostgreSQL's own serialization failure
};

/// A conflict as classify_occ() (and the adapters' classifiers) found it. A plain value: copy it
/// freely.
struct occ_info {
  occ_kind kind = occ_kind::data;  ///< data (OC000), schema (OC001) or plain serialization
  std::string sqlstate;            ///< "40001", or "OC000"/"OC001" from servers that send those
  std::string code;                ///< "OC000", "OC001", or empty for a plain serialization failure
  std::string message;             ///< the message classified (the server's, when it came from one)
};

/// Classifies a SQLSTATE and message: 40001 with an "OC000"/"OC001" marker, or SQLSTATE
/// OC000/OC001 itself, or (only when include_plain_40001) 40001 without a marker.
std::optional<occ_info> classify_occ(std::string_view sqlstate, std::string_view message,
                                     bool include_plain_40001 = true);
/// The same for an exception: a dsql::sql_error, or any exception with one nested inside it
/// (std::nested_exception, at any depth), so wrappers do not hide a conflict.
std::optional<occ_info> classify_occ(const std::exception& e, bool include_plain_40001 = true);
/// Whether classify_occ(e) finds a conflict, a plain 40001 included.
bool is_occ_conflict(const std::exception& e);

/// One retry about to happen, as retry_options::on_retry receives it. A plain value: copy it
/// freely.
struct retry_event {
  int attempt = 0;                  ///< the attempt that failed, from 1
  std::chrono::milliseconds delay;  ///< the wait before the next attempt
  std::string sqlstate;  ///< 40001 (or OC000/OC001) for a conflict, 53400 for a rate refusal
  std::string code;      ///< OC000, OC001 or empty
  std::string message;   ///< the server's message for the failure being retried
};

/// How the transaction runners (run_transaction, exec_with_retry and the adapters' runners) retry
/// conflicts and rate refusals; checked by validate(). A plain value: copy it freely.
struct retry_options {
  /// Total attempts, including the first (so 1 means no retry). 4 = the first try plus the
  /// 3 retries that the Python, Node, Go, JDBC, .NET and Ruby connectors make by default.
  int max_attempts = 4;
  /// Waits before retry n: min(max_backoff, initial_backoff * multiplier^(n-1)), plus a random
  /// 0..jitter share of it (the +0-25% the other connectors use). 100 ms / 5 s is the "slow"
  /// family (Go, JDBC, .NET, Ruby): the 1 ms / 100 ms family ran out on OC001 during DDL
  /// (aurora-dsql-connectors#546).
  std::chrono::milliseconds initial_backoff = std::chrono::milliseconds(100);
  /// The cap of the wait before jitter (see initial_backoff); at least initial_backoff.
  std::chrono::milliseconds max_backoff = std::chrono::seconds(5);
  /// The growth of the wait from one retry to the next (see initial_backoff); 1 to 100.
  double multiplier = 2.0;
  /// The random share of the wait added to it, 0 to 1 (see initial_backoff).
  double jitter = 0.25;
  /// No retry starts after this much time from the first attempt (a retry whose wait would
  /// end past it is not made). 0: only max_attempts limits.
  std::chrono::milliseconds time_budget = std::chrono::milliseconds(0);
  /// A 40001 without an OC marker is PostgreSQL's own serialization failure, which is safe and
  /// useful to retry the same way; set false to retry only DSQL's OC000/OC001.
  bool retry_plain_serialization_failure = true;
  /// Called before each wait, for logs and metrics. Exceptions from it propagate.
  std::function<void(const retry_event&)> on_retry;
};

/// Throws config_error when the options cannot work.
void validate(const retry_options& options);

/// The wait before retry `retry` (1 for the first retry), with `random01` in [0, 1) choosing the
/// jitter. Exposed for tests and for users who drive their own loop.
std::chrono::milliseconds backoff_delay(const retry_options& options, int retry, double random01);

namespace detail {

using occ_classifier = std::optional<occ_info> (*)(const std::exception&, bool);

// `classify_one` applied to `e`, then to each exception nested inside it (std::nested_exception),
// outermost first: the one walk every adapter's classifier shares.
std::optional<occ_info> classify_nested(const std::exception& e, bool include_plain_40001,
                                        occ_classifier classify_one);
// dsql::sql_error alone, not what is nested inside it: the core's classify_one.
std::optional<occ_info> classify_sql_error(const std::exception& e, bool include_plain_40001);

// The attempt counter, the waits and the final error, shared by every runner (and the libpqxx
// adapter, which brings its own classifier).
class retry_loop {
 public:
  explicit retry_loop(const retry_options& options, occ_classifier classify = nullptr);
  // In a catch block: rethrows the current exception unless it is a conflict worth another
  // attempt; then waits and returns. Throws occ_conflict_error when attempts or time ran out.
  void failed();
  // The same without the wait: returns how long to wait before the next attempt, for runners
  // that wait on a timer instead of a sleeping thread.
  std::chrono::milliseconds next_delay();
  int attempt() const noexcept { return attempt_; }

 private:
  retry_options options_;
  occ_classifier classify_;
  int attempt_ = 1;
  std::chrono::steady_clock::time_point start_;
};

// Ends an attempt's transaction on the way out; a connection that cannot roll back is discarded.
void abandon(lease& l) noexcept;
void abandon(connection& c) noexcept;
// BEGIN on a fresh lease. A connection found dead here ran nothing of the attempt, so it is
// discarded and another is taken (a few times) instead of failing the attempt.
lease begin_on_fresh_lease(pool& p);

template <class Fn, class Conn>
auto run_in_transaction(Conn& c, Fn& fn) {
  using R = std::decay_t<std::invoke_result_t<Fn&, connection&>>;
  if constexpr (std::is_void_v<R>) {
    fn(c);
    c.exec("COMMIT");
  } else {
    R value = fn(c);
    c.exec("COMMIT");
    return value;
  }
}

}  // namespace detail

/// Runs fn(connection&) inside BEGIN ... COMMIT on a connection from the pool and returns what fn
/// returns. On an OCC conflict the transaction is rolled back and run again on a fresh lease,
/// after a backoff, up to max_attempts and the time budget; then occ_conflict_error. A connect
/// refused for rate (rate_limited_error, SQLSTATE 53400) is retried the same way, and rethrown
/// when attempts or time run out. Any other exception is rethrown at once, after rollback. fn
/// must be safe to run more than once.
template <class Fn>
auto run_transaction(pool& p, Fn&& fn, const retry_options& options = {})
    -> std::decay_t<std::invoke_result_t<Fn&, connection&>> {
  detail::retry_loop loop(options);
  for (;;) {
    try {
      lease l = detail::begin_on_fresh_lease(p);
      try {
        return detail::run_in_transaction(*l, fn);
      } catch (...) {
        detail::abandon(l);
        throw;
      }
    } catch (...) {
      loop.failed();
    }
  }
}

/// The same without a pool: each attempt opens its own connection with the connector (which
/// reuses its credentials and, per its options, its token).
template <class Fn>
auto run_transaction(connector& source, Fn&& fn, const retry_options& options = {})
    -> std::decay_t<std::invoke_result_t<Fn&, connection&>> {
  detail::retry_loop loop(options);
  for (;;) {
    try {
      connection c = source.connect();
      c.exec("BEGIN");
      try {
        return detail::run_in_transaction(c, fn);
      } catch (...) {
        detail::abandon(c);
        throw;
      }
    } catch (...) {
      loop.failed();
    }
  }
}

/// One statement in autocommit mode, retried on conflict like a transaction.
result exec_with_retry(pool& p, std::string_view sql,
                       const std::vector<std::optional<std::string>>& params = {},
                       const retry_options& options = {});

}  // namespace dsql
