#pragma once

/// @file
/// An owning libpq connection opened with a fresh IAM token over verified TLS.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsql/config.hpp"
#include "dsql/notice.hpp"
#include "dsql/result.hpp"

/// libpq's handle, deliberately reachable so that users can call libpq directly.
typedef struct pg_conn PGconn;

namespace dsql {

/// Where a connection's session stands (libpq's PQtransactionStatus, named).
enum class transaction_state {
  idle,            ///< no transaction block open: ready for the next one
  active,          ///< a command is in flight
  in_transaction,  ///< inside a transaction block
  failed,          ///< inside a failed transaction block: only ROLLBACK helps
  unknown,         ///< closed, or the connection is bad
};
/// The state of any libpq handle (nullptr: unknown); what every connection type reports.
transaction_state transaction_status_of(const PGconn* conn) noexcept;

/// One libpq connection. Thread safety: not thread-safe; use one connection from one thread at a
/// time (move it between threads freely).
class connection {
 public:
  /// No connection: false; exec() and the other calls that need one throw connection_error.
  connection() noexcept = default;
  /// Takes ownership of an open libpq connection.
  explicit connection(PGconn* conn) noexcept : conn_(conn) {}
  /// Closes the connection (PQfinish).
  ~connection();
  /// Takes the other's handle and notice handler, leaving it without a connection.
  connection(connection&& other) noexcept;
  /// Closes this connection, then takes the other's, leaving it without a connection.
  connection& operator=(connection&& other) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// libpq's handle, still owned by this object; nullptr when there is none.
  PGconn* raw() const noexcept { return conn_; }
  /// Gives up ownership; the caller must PQfinish the handle. A notice handler set here stays
  /// behind: the handle drops notices until the caller sets its own receiver.
  PGconn* release() noexcept;
  /// Whether this object holds a handle (open or not: see is_open()).
  explicit operator bool() const noexcept { return conn_ != nullptr; }
  /// True when the handle exists and libpq reports CONNECTION_OK.
  bool is_open() const noexcept;
  /// Closes the connection (PQfinish) and drops the notice handler; does nothing when closed.
  void close() noexcept;

  /// Runs one or more statements (simple protocol). Throws sql_error or connection_error.
  result exec(std::string_view sql);
  /// Runs one statement with text parameters ($1, $2, ...); std::nullopt is SQL NULL.
  result exec_params(std::string_view sql, const std::vector<std::optional<std::string>>& params);

  /// Where the session stands; transaction_state::unknown when closed.
  transaction_state transaction_status() const noexcept;
  /// True while a transaction block is open (or failed and not yet ended).
  bool in_transaction() const noexcept;

  /// Sends the server's notices to `handler`; an empty handler drops them. Connections from
  /// dsql::connect and the pools start with config.on_notice; a connection made from a PGconn*
  /// keeps libpq's notice processing until this is called.
  void set_notice_handler(notice_handler handler);

 private:
  PGconn* conn_ = nullptr;
  // On the heap, so that libpq's pointer to it survives moves of the connection.
  std::unique_ptr<notice_handler> notices_;
};

/// Resolves the config, signs a fresh token and opens a connection. Throws config_error,
/// credentials_error, auth_error (refused login, with a diagnosis) or connection_error.
connection connect(const config& cfg);
/// Same for a URI, a full endpoint or a cluster ID.
connection connect(std::string_view host_or_uri);

/// How a connector reuses tokens. Plain value: copy it freely.
struct connector_options {
  /// Reuse a token for new connections until this share of its lifetime has passed; 0 signs a
  /// fresh token for every connection. At least 0, below 1.
  double token_reuse_fraction = 0.0;
};

/// Opens connections for one resolved configuration: credentials are resolved once (and cached),
/// tokens are signed per connection or reused while young. Shared by the pools. Thread-safe:
/// every member may be called from any thread at once. Movable: a moved-from connector may only
/// be destroyed or assigned to; its other members throw dsql::error.
class connector {
 public:
  /// Resolves the config (config_error when it cannot work); signs and connects nothing yet.
  explicit connector(const config& cfg);
  /// The same with token reuse options and a clock (for tests; empty: the system clock).
  connector(const config& cfg, connector_options opts, clock_function clock = {});
  /// Frees the connector's state; connections it opened are unaffected.
  ~connector();
  /// Takes over `other`'s state; `other` may then only be destroyed or assigned to.
  connector(connector&& other) noexcept;
  /// Frees this connector's state, then takes over `other`'s (see the move constructor).
  connector& operator=(connector&& other) noexcept;
  connector(const connector&) = delete;
  connector& operator=(const connector&) = delete;

  /// Opens a connection with a token (fresh, or reused per the options); a refusal for an
  /// expired signature is retried once with a fresh token. Throws as dsql::connect does.
  connection connect();
  /// A token for this endpoint, fresh or reused per the options. May resolve credentials, which
  /// can block (files, credential_process, IMDS, STS).
  std::string token();
  /// A newly signed token, which later token() calls reuse per the options (after a refusal
  /// with "Signature expired", for instance).
  std::string fresh_token();
  /// The token token() would reuse, when one is young enough; never signs and never resolves
  /// credentials, so it does not block. Empty when token() would sign.
  std::optional<std::string> reusable_token();
  /// The resolved configuration every connection uses.
  const resolved_config& settings() const;
  /// The provider that signs this connector's tokens: config.credentials, or the cached default
  /// chain. Its credentials are resolved (and cached) on first use.
  const std::shared_ptr<credentials_provider>& provider() const;

  /// The libpq keyword/value pairs used to connect, without the password.
  std::vector<std::pair<std::string, std::string>> libpq_parameters() const;

 private:
  struct state;
  state& get() const;
  std::unique_ptr<state> state_;
};

}  // namespace dsql
