#pragma once

/// @file
/// Every exception the library throws, in one hierarchy: all derive from dsql::error, so one catch
/// clause is enough. Errors the server reported also derive from dsql::server_diagnostics, which
/// names the server's fields the same way for every one of them. Messages never contain a token,
/// secret key, session token or password. Every error is immutable once thrown: safe to read from
/// any thread.
///
/// @code{.unparsed}
///   error
///   ├── config_error            the configuration or options cannot work
///   ├── credentials_error       no credentials, or a credential source failed
///   ├── connection_error        a connection could not be opened or was lost
///   │   ├── auth_error          the server refused the login          (+ server_diagnostics)
///   │   ├── quota_error         the server refused for a quota        (+ server_diagnostics)
///   │   │   ├── rate_limited_error          53400
///   │   │   └── too_many_connections_error  53300
///   │   └── timeout_error       an operation ran past its time limit
///   ├── cancelled_error         an asynchronous operation was cancelled
///   ├── sql_error               a statement failed on the server      (+ server_diagnostics)
///   │   └── occ_conflict_error  retries ran out on a conflict (OC000, OC001, 40001)
///   ├── pool_closed_error       the pool is closed
///   ├── pool_timeout_error      no pooled connection before the timeout
///   ├── lease_error             a lease that holds no connection was used
///   ├── migration_error         a migration could not be planned or applied
///   └── batch_error             a batch_writer batch failed for good (+ server_diagnostics)
/// @endcode

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "dsql/batch_info.hpp"

namespace dsql {

/// The base of every exception the library throws. Immutable.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What the server said about a failure, with one accessor per field of its error report. A base
/// of every error the server caused (catch it to read those fields whatever the error's type).
/// Immutable.
class server_diagnostics {
 public:
  /// The fields as the server sent them (libpq's PG_DIAG_* fields), and our own diagnosis.
  server_diagnostics(std::string sqlstate = {}, std::string server_message = {},
                     std::string detail = {}, std::string hint = {}, std::string diagnosis = {})
      : sqlstate_(std::move(sqlstate)),
        server_message_(std::move(server_message)),
        detail_(std::move(detail)),
        hint_(std::move(hint)),
        diagnosis_(std::move(diagnosis)) {}

  /// The five-character SQLSTATE ("40001", "28000"...); empty when the server sent none.
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  /// The server's primary message, unescaped (what() is the escaped summary).
  const std::string& server_message() const noexcept { return server_message_; }
  /// The server's DETAIL, or empty.
  const std::string& detail() const noexcept { return detail_; }
  /// The server's HINT, or empty.
  const std::string& hint() const noexcept { return hint_; }
  /// What the library thinks went wrong and how to fix it, or empty.
  const std::string& diagnosis() const noexcept { return diagnosis_; }

 private:
  std::string sqlstate_, server_message_, detail_, hint_, diagnosis_;
};

/// The configuration or options cannot work: bad host, URI, port, sslmode, expiry, no region...
/// Immutable.
class config_error : public error {
 public:
  using error::error;
};

/// No credentials could be resolved, or a credential source failed. Immutable.
class credentials_error : public error {
 public:
  using error::error;
};

/// A connection could not be opened or was lost (network, TLS, timeout); not a refusal. Immutable.
class connection_error : public error {
 public:
  using error::error;
};

/// The server refused the login (DSQL: FATAL 28000 "unable to accept connection, access denied");
/// diagnosis() is our best guess at the cause. Immutable.
class auth_error : public connection_error, public server_diagnostics {
 public:
  /// `what` is the full message; `diagnostics` holds the server's fields and the diagnosis.
  auth_error(const std::string& what, server_diagnostics diagnostics)
      : connection_error(what), server_diagnostics(std::move(diagnostics)) {}

  /// True when the server said the signature expired: one retry with a fresh token may help.
  bool signature_expired() const noexcept {
    return hint().find("Signature expired") != std::string::npos;
  }
};

/// The server refused a new connection for a quota, before looking at the token. A
/// connection_error, so that existing catch sites still see a failed connect. Immutable.
class quota_error : public connection_error, public server_diagnostics {
 public:
  /// `what` is the full message; `diagnostics` holds the server's fields.
  quota_error(const std::string& what, server_diagnostics diagnostics)
      : connection_error(what), server_diagnostics(std::move(diagnostics)) {}
};

/// SQLSTATE 53400 ("rate exceeded"): the cluster admits only so many new connections per second.
/// Transient: the same connect succeeds after a wait. Pools and run_transaction retry it with a
/// jittered backoff; it reaches callers only when their timeout or attempts run out. Immutable.
class rate_limited_error : public quota_error {
 public:
  using quota_error::quota_error;
};

/// SQLSTATE 53300 ("too many open connections"): the cluster's open-connection quota is used up.
/// Waiting helps only once other clients close connections, so it is never retried silently.
/// Immutable.
class too_many_connections_error : public quota_error {
 public:
  using quota_error::quota_error;
};

/// An operation ran past its time limit (dsql::async_options::exec_timeout); the connection it
/// used was closed. Immutable.
class timeout_error : public connection_error {
 public:
  using connection_error::connection_error;
};

/// An asynchronous operation was cancelled through its cancellation slot. A statement cancelled
/// while it ran has closed its connection. Immutable.
class cancelled_error : public error {
 public:
  using error::error;
};

/// A statement failed on the server. Immutable.
class sql_error : public error, public server_diagnostics {
 public:
  /// `what` is the full message; `diagnostics` holds the server's fields.
  sql_error(const std::string& what, server_diagnostics diagnostics)
      : error(what), server_diagnostics(std::move(diagnostics)) {}
};

/// Every attempt of a retried transaction conflicted (OC000, OC001 or a plain 40001), or its time
/// budget ran out; the diagnostics are the last conflict's. Immutable.
class occ_conflict_error : public sql_error {
 public:
  /// `code` is OC000, OC001 or empty; `attempts` counts every attempt made.
  occ_conflict_error(const std::string& what, server_diagnostics diagnostics, int attempts,
                     std::string code)
      : sql_error(what, std::move(diagnostics)), attempts_(attempts), code_(std::move(code)) {}

  /// How many attempts were made, the first included.
  int attempts() const noexcept { return attempts_; }
  /// OC000 (data), OC001 (schema), or empty for a plain serialization failure.
  const std::string& code() const noexcept { return code_; }

 private:
  int attempts_;
  std::string code_;
};

/// acquire() or another pool call after close(). Immutable.
class pool_closed_error : public error {
 public:
  using error::error;
};

/// acquire() found no connection before its timeout. The message names the last connect failure,
/// if any, because during an outage that is the real cause. Immutable.
class pool_timeout_error : public error {
 public:
  using error::error;
};

/// A lease was used after it was released, discarded or moved from. Immutable.
class lease_error : public error {
 public:
  using error::error;
};

/// A migration could not be planned or applied. file() and line() say where, when a statement or
/// a file is the cause (empty and 0 otherwise); what() starts with "file:line: " then. Immutable.
class migration_error : public error {
 public:
  /// `file`, `line` and `version` locate the cause, when there is one.
  explicit migration_error(const std::string& what, std::string file = {}, std::size_t line = 0,
                           std::string version = {})
      : error(what), file_(std::move(file)), line_(line), version_(std::move(version)) {}

  /// The migration file at fault, or empty.
  const std::string& file() const noexcept { return file_; }
  /// The line of the statement at fault (from 1), or 0.
  std::size_t line() const noexcept { return line_; }
  /// The version of the migration at fault, or empty.
  const std::string& version() const noexcept { return version_; }

 private:
  std::string file_;
  std::size_t line_;
  std::string version_;
};

/// A batch_writer batch failed for good (any error but a conflict, or conflicts past the retry
/// options); nothing of that batch was written. The diagnostics are the server's, when the server
/// caused it (sqlstate() is empty otherwise). Immutable.
class batch_error : public error, public server_diagnostics {
 public:
  /// `row_tag` is the tag of the row the server named, if it named one.
  batch_error(const std::string& what, batch_info batch, std::optional<std::uint64_t> row_tag,
              server_diagnostics diagnostics = {})
      : error(what),
        server_diagnostics(std::move(diagnostics)),
        batch_(std::move(batch)),
        row_tag_(row_tag) {}

  /// The batch that failed.
  const batch_info& batch() const noexcept { return batch_; }
  /// The tag of the row the server named (COPY reports the row it failed on), if it did.
  const std::optional<std::uint64_t>& row_tag() const noexcept { return row_tag_; }

 private:
  batch_info batch_;
  std::optional<std::uint64_t> row_tag_;
};

}  // namespace dsql
