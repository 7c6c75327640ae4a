#pragma once

// Every exception the connector throws derives from dsql::error, so one catch clause is enough.
// Messages never contain a token, secret key, session token or password.

#include <stdexcept>
#include <string>

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
