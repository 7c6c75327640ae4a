#pragma once

// The inside of an async_connection: libpq's handle, its socket registered with the executor's
// reactor, and the operation in progress. Everything here runs on the connection's strand.

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "dsql/async/connection.hpp"
#include "dsql/errors.hpp"

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#else
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#endif

namespace dsql::detail {

class async_connection_impl;

// One operation on the socket: a connect handshake or a round of statements.
class io_op {
 public:
  virtual ~io_op() = default;
  // Does what the socket allows now; true once the operation has its outcome.
  virtual bool advance(async_connection_impl& c) = 0;
  // Delivers the outcome, or `error` instead of it (cancelled, timed out, closed).
  virtual void complete(async_connection_impl& c, std::exception_ptr error) = 0;
};

class async_connection_impl : public std::enable_shared_from_this<async_connection_impl> {
 public:
  async_connection_impl(const net::any_io_executor& ex, PGconn* conn);
  // Gives the socket back to libpq and closes the connection.
  ~async_connection_impl();

  const net::any_io_executor& executor() const noexcept { return ex_; }
  net::strand<net::any_io_executor>& strand() noexcept { return strand_; }
  PGconn* conn() const noexcept { return conn_; }
  bool closing() const noexcept { return closing_.load(std::memory_order_acquire); }
  bool busy() const noexcept { return busy_.load(std::memory_order_acquire); }
  std::chrono::milliseconds exec_timeout() const noexcept { return exec_timeout_.load(); }
  void set_exec_timeout(std::chrono::milliseconds t) noexcept { exec_timeout_.store(t); }

  // Claims the connection for one operation; false when one is running already.
  bool try_claim() noexcept;
  // From the thread that starts the operation (after try_claim): runs `op` to its end on the
  // strand. A `limit` above zero fails it with timeout_error after that long; a terminal
  // cancellation through `slot` fails it with cancelled_error. Both close the connection.
  void start(std::unique_ptr<io_op> op, std::chrono::milliseconds limit,
             net::cancellation_slot slot);

  // For operations: wait until the socket is ready in the given directions, then advance().
  // At most one wait per direction is queued; a spare completion only causes an extra step.
  void await_io(bool read, bool write);
  // During a connect libpq may close its socket and open another (next address, same number
  // or not): registering anew at each step keeps the reactor on the right one.
  void rewrap_socket();
  // True when OpenSSL holds decrypted bytes that libpq has not read yet (no socket event
  // will announce them).
  bool tls_pending() const noexcept;
  // For operations: runs `step` (CPU-bound libpq work) on the library's compute threads, then
  // advance() again here. Until then nothing here touches the connection; an abort waits.
  void run_elsewhere(unique_function<void()> step);

  // Closes now (on the strand), failing a running operation with `error`.
  void abort(std::exception_ptr error, bool ask_server_to_cancel);
  // From any thread: marks the connection closed at once and closes it on the strand.
  void close_soon() noexcept;

 private:
  void run(std::unique_ptr<io_op> op, unsigned serial, std::chrono::milliseconds limit);
  void cancel(unsigned serial);
  void drive();
  void finish(std::exception_ptr error);
  void io_ready(unsigned epoch, bool read, bool aborted);
  void release_socket() noexcept;
  void back_from_elsewhere();

  net::any_io_executor ex_;
  net::strand<net::any_io_executor> strand_;
  net::posix::stream_descriptor socket_;
  net::steady_timer timer_;
  PGconn* conn_;
  std::atomic<bool> closing_{false};
  std::atomic<bool> busy_{false};
  std::atomic<std::chrono::milliseconds> exec_timeout_{std::chrono::milliseconds(0)};

  std::atomic<unsigned> next_serial_{0};
  std::unique_ptr<io_op> op_;
  unsigned op_serial_ = 0;  // tells a timer or a cancellation which operation it was for
  unsigned epoch_ = 0;      // bumped whenever the socket is registered anew
  bool read_waiting_ = false, write_waiting_ = false;
  bool elsewhere_ = false;             // a step of the operation runs on a compute thread
  std::exception_ptr deferred_abort_;  // an abort that waits for that step to come back
  bool deferred_cancel_request_ = false;
};

// Results and errors of libpq, read the way connection::exec reads them.
std::exception_ptr result_error(PGconn* conn, PGresult* res);

// What an exception_ptr holds, for decisions and messages.
bool is_connection_error(const std::exception_ptr& e);
std::string message_of(const std::exception_ptr& e);

}  // namespace dsql::detail
