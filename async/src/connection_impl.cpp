#include "connection_impl.hpp"

#include <libpq-fe.h>
#include <openssl/ssl.h>

#include "background.hpp"
#include "server_error.hpp"

namespace dsql::detail {

std::exception_ptr result_error(PGconn* conn, PGresult* res) {
  try {
    throw_result_error(conn, res);
  } catch (...) {
    return std::current_exception();
  }
}

bool is_connection_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const connection_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown error";
  }
}

async_connection_impl::async_connection_impl(const net::any_io_executor& ex, PGconn* conn)
    : ex_(ex), strand_(net::make_strand(ex)), socket_(strand_), timer_(strand_), conn_(conn) {}

async_connection_impl::~async_connection_impl() {
  release_socket();
  if (conn_ != nullptr) PQfinish(conn_);
}

bool async_connection_impl::try_claim() noexcept {
  bool expected = false;
  return busy_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
}

void async_connection_impl::start(std::unique_ptr<io_op> op, std::chrono::milliseconds limit,
                                  net::cancellation_slot slot) {
  const unsigned serial = ++next_serial_;
  if (slot.is_connected()) {
    std::weak_ptr<async_connection_impl> weak = shared_from_this();
    // Runs in the canceller's context: it only hands the request to the strand.
    slot.assign([weak, serial](net::cancellation_type type) {
      if ((type & net::cancellation_type::terminal) == net::cancellation_type::none) return;
      if (auto self = weak.lock()) {
        net::post(self->strand_, [self, serial] { self->cancel(serial); });
      }
    });
  }
  net::post(strand_, [self = shared_from_this(), op = std::move(op), serial, limit]() mutable {
    self->run(std::move(op), serial, limit);
  });
}

void async_connection_impl::run(std::unique_ptr<io_op> op, unsigned serial,
                                std::chrono::milliseconds limit) {
  op_ = std::move(op);
  op_serial_ = serial;
  if (limit.count() > 0) {
    timer_.expires_after(limit);
    timer_.async_wait([self = shared_from_this(), serial, limit](const auto& ec) {
      if (ec || !self->op_ || self->op_serial_ != serial) return;
      self->abort(std::make_exception_ptr(timeout_error(
                      "the statement did not complete within " + std::to_string(limit.count()) +
                      " ms (exec_timeout); its connection was closed")),
                  true);
    });
  }
  drive();
}

void async_connection_impl::cancel(unsigned serial) {
  if (!op_ || op_serial_ != serial) return;
  abort(std::make_exception_ptr(
            cancelled_error("the operation was cancelled; its connection was closed")),
        true);
}

void async_connection_impl::drive() {
  if (!op_ || elsewhere_) return;
  bool done = false;
  try {
    done = op_->advance(*this);
  } catch (...) {
    // The protocol state is unknown after a failure in the middle of an exchange.
    abort(std::current_exception(), false);
    return;
  }
  if (done) finish(nullptr);
}

void async_connection_impl::finish(std::exception_ptr error) {
  timer_.cancel();
  if (read_waiting_ || write_waiting_) {
    // A wait left queued would keep the executor's run() going while the connection idles.
    net_error_code ec;
    socket_.cancel(ec);
    ++epoch_;
    read_waiting_ = write_waiting_ = false;
  }
  auto op = std::move(op_);
  busy_.store(false, std::memory_order_release);
  op->complete(*this, std::move(error));
}

void async_connection_impl::await_io(bool read, bool write) {
  auto self = shared_from_this();
  const unsigned epoch = epoch_;
  using base = net::posix::descriptor_base;
  if (read && !read_waiting_) {
    read_waiting_ = true;
    socket_.async_wait(base::wait_read, [self, epoch](const auto& ec) {
      self->io_ready(epoch, true, ec == net::error::operation_aborted);
    });
  }
  if (write && !write_waiting_) {
    write_waiting_ = true;
    socket_.async_wait(base::wait_write, [self, epoch](const auto& ec) {
      self->io_ready(epoch, false, ec == net::error::operation_aborted);
    });
  }
  // No level check is needed here although the reactor is edge-triggered and libpq reads once
  // per call: a wait re-arms the descriptor (EPOLL_CTL_MOD), and the kernel then reports
  // readiness that is already there.
}

void async_connection_impl::io_ready(unsigned epoch, bool read, bool aborted) {
  if (epoch != epoch_) return;  // a wait on a registration since replaced
  (read ? read_waiting_ : write_waiting_) = false;
  if (!aborted) drive();
}

void async_connection_impl::release_socket() noexcept {
  if (!socket_.is_open()) return;
  try {
    socket_.release();  // libpq owns the descriptor: never close it here
  } catch (...) {
  }
}

void async_connection_impl::rewrap_socket() {
  release_socket();
  ++epoch_;
  read_waiting_ = write_waiting_ = false;
  const int fd = PQsocket(conn_);
  if (fd < 0) return;
  typename net::posix::stream_descriptor::native_handle_type handle = fd;
  net_error_code ec;
  socket_.assign(handle, ec);
}

bool async_connection_impl::tls_pending() const noexcept {
  void* ssl = PQsslStruct(conn_, "OpenSSL");
  return ssl != nullptr && SSL_pending(static_cast<SSL*>(ssl)) > 0;
}

void async_connection_impl::run_elsewhere(unique_function<void()> step) {
  // libpq may close its socket there; were it still registered here, its number could be
  // reused by another connection's socket, whose registration a later release would remove.
  release_socket();
  ++epoch_;
  read_waiting_ = write_waiting_ = false;
  elsewhere_ = true;
  net::post(compute_executor(), [self = shared_from_this(), step = std::move(step)]() mutable {
    step();
    // The reference goes back with the result: dropped on a compute thread, it could destroy
    // this connection's strand, timer and socket after the caller's context is gone.
    const net::any_io_executor loop = self->ex_;
    net::post(loop, [self = std::move(self)]() mutable {
      const auto strand = self->strand_;
      net::dispatch(strand, [self = std::move(self)] { self->back_from_elsewhere(); });
    });
  });
}

void async_connection_impl::back_from_elsewhere() {
  elsewhere_ = false;
  if (deferred_abort_) {
    abort(std::exchange(deferred_abort_, nullptr), deferred_cancel_request_);
    return;
  }
  drive();
}

void async_connection_impl::abort(std::exception_ptr error, bool ask_server_to_cancel) {
  closing_.store(true, std::memory_order_release);
  if (elsewhere_) {  // the connection is in use on a compute thread: close it when it is back
    if (!deferred_abort_) {
      deferred_abort_ = std::move(error);
      deferred_cancel_request_ = ask_server_to_cancel;
    }
    return;
  }
  if (conn_ != nullptr) {
    if (ask_server_to_cancel && op_ && PQstatus(conn_) == CONNECTION_OK) {
      send_cancel_request(conn_);
    }
    release_socket();
    PQfinish(conn_);
    conn_ = nullptr;
  }
  if (op_) finish(std::move(error));
}

void async_connection_impl::close_soon() noexcept {
  if (closing_.exchange(true, std::memory_order_acq_rel)) return;
  try {
    net::post(strand_, [self = shared_from_this()] {
      self->abort(std::make_exception_ptr(cancelled_error("the connection was closed")), true);
    });
  } catch (...) {
    // Nothing can be queued (the executor is gone): the destructor closes the connection.
  }
}

}  // namespace dsql::detail
