#pragma once

// Every exception the connector throws derives from dsql::error, so one catch clause is enough.
// Messages never contain a token, secret key, session token or password.

#include <stdexcept>
#include <string>
#include <utility>

namespace dsql {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The configuration cannot work: bad host, URI, port, sslmode, expiry, missing region...
class config_error : public error {
 public:
  using error::error;
};

// No credentials could be resolved, or a credential source failed.
class credentials_error : public error {
 public:
  using error::error;
};

// A connection could not be opened or was lost (network, TLS, timeout). Not a refusal.
class connection_error : public error {
 public:
  using error::error;
};

// The server refused the login (DSQL: FATAL 28000 "unable to accept connection, access denied").
// Carries the server's words and our best guess at the cause.
class auth_error : public connection_error {
 public:
  auth_error(const std::string& what, std::string sqlstate, std::string server_message,
             std::string server_hint, std::string diagnosis)
      : connection_error(what),
        sqlstate_(std::move(sqlstate)),
        server_message_(std::move(server_message)),
        server_hint_(std::move(server_hint)),
        diagnosis_(std::move(diagnosis)) {}

  const std::string& sqlstate() const noexcept { return sqlstate_; }
  const std::string& server_message() const noexcept { return server_message_; }
  const std::string& server_hint() const noexcept { return server_hint_; }
  // What we think went wrong and how to fix it; may be empty.
  const std::string& diagnosis() const noexcept { return diagnosis_; }
  // True when the server said the signature expired: one retry with a fresh token may help.
  bool signature_expired() const noexcept {
    return server_hint_.find("Signature expired") != std::string::npos;
  }

 private:
  std::string sqlstate_, server_message_, server_hint_, diagnosis_;
};

// The server refused a new connection for a quota, before looking at the token. Carries the
// SQLSTATE and the server's words; derived from connection_error so that existing catch sites
// still see a failed connect. Immutable, like every error here: safe to read from any thread.
class quota_error : public connection_error {
 public:
  quota_error(const std::string& what, std::string sqlstate, std::string server_message)
      : connection_error(what),
        sqlstate_(std::move(sqlstate)),
        server_message_(std::move(server_message)) {}

  const std::string& sqlstate() const noexcept { return sqlstate_; }
  const std::string& server_message() const noexcept { return server_message_; }

 private:
  std::string sqlstate_, server_message_;
};

// SQLSTATE 53400 ("rate exceeded"): the cluster admits only so many new connections per second.
// Transient: the same connect succeeds after a wait. Pools and run_transaction retry it with a
// jittered backoff; it reaches callers only when their timeout or attempts run out. Immutable.
class rate_limited_error : public quota_error {
 public:
  using quota_error::quota_error;
};

// SQLSTATE 53300 ("too many open connections"): the cluster's open-connection quota is used up.
// Waiting helps only once other clients close connections, so it is never retried silently.
// Immutable.
class too_many_connections_error : public quota_error {
 public:
  using quota_error::quota_error;
};

// An operation ran past its time limit (dsql::async_options::exec_timeout); the connection it
// used was closed.
class timeout_error : public connection_error {
 public:
  using connection_error::connection_error;
};

// An asynchronous operation was cancelled through its cancellation slot. A statement cancelled
// while it ran has closed its connection.
class cancelled_error : public error {
 public:
  using error::error;
};

// A statement failed on the server.
class sql_error : public error {
 public:
  sql_error(const std::string& what, std::string sqlstate, std::string server_message,
            std::string hint = {}, std::string detail = {})
      : error(what),
        sqlstate_(std::move(sqlstate)),
        server_message_(std::move(server_message)),
        hint_(std::move(hint)),
        detail_(std::move(detail)) {}

  const std::string& sqlstate() const noexcept { return sqlstate_; }
  const std::string& server_message() const noexcept { return server_message_; }
  const std::string& hint() const noexcept { return hint_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string sqlstate_, server_message_, hint_, detail_;
};

}  // namespace dsql
