#pragma once

/// @file
/// A DSQL connection driven by an Asio executor: libpq in non-blocking mode, its socket watched by
/// the executor's reactor, so that no call ever blocks the thread that runs the executor.
///
/// Every operation takes a completion token (a callback, net::use_future, net::use_awaitable...)
/// and completes with (std::exception_ptr, value): the exception is the one the blocking API would
/// throw (sql_error, auth_error with its diagnosis, connection_error...), and use_awaitable and
/// use_future rethrow it. Operations honour terminal cancellation through their cancellation slot.

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsql/async/completion.hpp"
#include "dsql/async/net.hpp"
#include "dsql/config.hpp"
#include "dsql/connection.hpp"
#include "dsql/result.hpp"

/// libpq's connection handle, declared here so that this header does not include libpq-fe.h.
typedef struct pg_conn PGconn;

namespace dsql {

/// One statement of a pipeline: SQL with text parameters ($1, $2, ...; std::nullopt is NULL).
/// A plain value.
struct statement {
  std::string sql;                                 ///< One SQL statement.
  std::vector<std::optional<std::string>> params;  ///< Its parameters' text values, in order.
};

/// Options of async connections (async_connect, async_pool). A plain value.
struct async_options {
  /// Statements run, in one round trip, on every new connection before its first use (e.g.
  /// "SET search_path = app"). If one fails, the connection is closed and the error reaches
  /// whoever asked for the connection.
  std::vector<std::string> after_connect;
  /// An async_exec, async_exec_params or async_pipeline still running after this long fails
  /// with timeout_error and closes its connection (the server is asked to cancel the
  /// statement). 0: no limit.
  std::chrono::milliseconds exec_timeout{0};
};

namespace detail {
class async_connection_impl;
enum class exec_mode { simple, params, pipeline };
}  // namespace detail

/// A DSQL connection driven by an Asio executor. One operation at a time (another one fails
/// with a dsql::error). Not thread-safe: use it from one task at a time; its operations may run
/// on any thread that runs its executor. A cancelled or timed-out statement closes the
/// connection, which is then no longer open.
class async_connection {
 public:
  /// The executor its operations run on.
  using executor_type = net::any_io_executor;

  /// No connection: false, not open.
  async_connection() noexcept;
  /// Closes the connection (an operation still running fails with cancelled_error).
  ~async_connection();
  /// Takes the other's connection, leaving it empty.
  async_connection(async_connection&& other) noexcept;
  /// Closes this connection and takes the other's, leaving it empty.
  async_connection& operator=(async_connection&& other) noexcept;
  async_connection(const async_connection&) = delete;
  async_connection& operator=(const async_connection&) = delete;

  /// The executor the connection was made on (a system executor when empty).
  executor_type get_executor() const;
  /// libpq's handle, for direct use between operations (it is in non-blocking mode).
  PGconn* raw() const noexcept;
  /// Whether this object holds a connection (false when default-constructed or moved from).
  explicit operator bool() const noexcept { return impl_ != nullptr; }
  /// Whether libpq's connection is up (CONNECTION_OK) and close() was not called.
  bool is_open() const noexcept;
  /// Where the session stands; transaction_state::unknown when closed.
  transaction_state transaction_status() const noexcept;
  /// True while a transaction block is open (or failed and not yet ended).
  bool in_transaction() const noexcept;
  /// True while an operation is running.
  bool busy() const noexcept;
  /// Marks the connection closed at once and closes it on its executor (an operation still
  /// running fails with cancelled_error). Does not wait.
  void close() noexcept;
  /// Replaces async_options::exec_timeout for this connection's next operations.
  void set_exec_timeout(std::chrono::milliseconds timeout) noexcept;

  /// Runs one or more statements (simple protocol), like connection::exec: completes with the
  /// last statement's result, or the first error.
  template <class Token>
  auto async_exec(std::string_view sql, Token&& token) {
    return start<result>(detail::exec_mode::simple, {statement{std::string(sql), {}}}, token);
  }
  /// One statement with text parameters, like connection::exec_params.
  template <class Token>
  auto async_exec_params(std::string_view sql, std::vector<std::optional<std::string>> params,
                         Token&& token) {
    return start<result>(detail::exec_mode::params,
                         {statement{std::string(sql), std::move(params)}}, token);
  }
  /// Sends every statement at once in libpq's pipeline mode and reads the results: one round
  /// trip for all of them. Completes with one result per statement, or with the first error
  /// (statements after it did not run; an open transaction is then in the failed state).
  template <class Token>
  auto async_pipeline(std::vector<statement> statements, Token&& token) {
    return start<std::vector<result>>(detail::exec_mode::pipeline, std::move(statements), token);
  }

  /// For the library's own use.
  explicit async_connection(std::shared_ptr<detail::async_connection_impl> impl) noexcept;
  /// For the library's own use.
  detail::async_connection_impl* impl() const noexcept { return impl_.get(); }

 private:
  template <class Value, class Token>
  auto start(detail::exec_mode mode, std::vector<statement> statements, Token& token) {
    return net::async_initiate<Token, void(std::exception_ptr, Value)>(
        [](auto handler, async_connection* self, detail::exec_mode m,
           std::vector<statement> stmts) {
          detail::completion<std::exception_ptr, Value> done(std::move(handler),
                                                             self->get_executor());
          self->start_exec(m, std::move(stmts), std::move(done));
        },
        token, this, mode, std::move(statements));
  }
  void start_exec(detail::exec_mode mode, std::vector<statement> statements,
                  detail::completion<std::exception_ptr, result> done);
  void start_exec(detail::exec_mode mode, std::vector<statement> statements,
                  detail::completion<std::exception_ptr, std::vector<result>> done);

  std::shared_ptr<detail::async_connection_impl> impl_;
};

namespace detail {
void start_connect(const net::any_io_executor& ex, const config& cfg, async_options options,
                   completion<std::exception_ptr, async_connection> done);
}  // namespace detail

/// Resolves the config and the credentials on a thread of the library's own (files,
/// credential_process, IMDS and STS may block; they never run on `ex`), then resolves the host
/// name and connects without blocking: libpq's PQconnectStartParams and PQconnectPoll on the
/// socket. config.connect_timeout bounds the whole. Completes with (std::exception_ptr,
/// async_connection); a refused login is the same auth_error, with its diagnosis, as
/// dsql::connect's.
template <class Token>
auto async_connect(const net::any_io_executor& ex, const config& cfg, async_options options,
                   Token&& token) {
  return net::async_initiate<Token, void(std::exception_ptr, async_connection)>(
      [](auto handler, net::any_io_executor e, config c, async_options o) {
        detail::start_connect(
            e, c, std::move(o),
            detail::completion<std::exception_ptr, async_connection>(std::move(handler), e));
      },
      token, ex, cfg, std::move(options));
}

/// async_connect with default async_options.
template <class Token>
auto async_connect(const net::any_io_executor& ex, const config& cfg, Token&& token) {
  return async_connect(ex, cfg, async_options{}, std::forward<Token>(token));
}

}  // namespace dsql
