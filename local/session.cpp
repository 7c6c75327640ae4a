#include "local/session.hpp"

#include "local/session_internal.hpp"

namespace dsql::local {
namespace {

using asio::ip::tcp;
using session_detail::cancel_id;

// Writes queued beyond this stop reads from the other side until they drain.
constexpr std::size_t backpressure_bytes = 4 * 1024 * 1024;
// The longest a transaction may outlive the connection age cap (DSQL's transaction age limit).
constexpr std::chrono::seconds transaction_grace{300};

}  // namespace

struct session::write_hold {
  session& s;
  explicit write_hold(session& owner) : s(owner) { ++s.held_writes_; }
  ~write_hold() {
    if (--s.held_writes_ == 0) {
      s.write_client();
      s.write_backend();
    }
  }
  write_hold(const write_hold&) = delete;
  write_hold& operator=(const write_hold&) = delete;
};

session::session(front_context& ctx, endpoint_state& endpoint, tcp::socket socket)
    : ctx_(ctx),
      endpoint_(endpoint),
      id_(ctx.next_id++),
      client_(std::move(socket), ctx.tls),
      backend_(ctx.io),
      startup_timer_(ctx.io),
      age_timer_(ctx.io) {
  std::error_code ec;
  const auto remote = client_.next_layer().remote_endpoint(ec);
  if (!ec) peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
}

std::string session::tag() const {
  return "front[" + std::to_string(id_) + "]: ";
}

void session::start() {
  ctx_.live[id_] = weak_from_this();
  auto self = shared_from_this();
  startup_timer_.expires_after(ctx_.options.startup_timeout);
  startup_timer_.async_wait([self](std::error_code ec) {
    if (ec || self->phase_ == phase::relay || self->phase_ == phase::closed) return;
    self->ctx_.log(self->tag() + "startup timed out; dropping the connection");
    if (!self->tls_active_) return self->close();
    // What PostgreSQL says to a client that does not finish logging in.
    self->fail(session_detail::error("57014", "canceling authentication due to timeout"));
  });
  age_timer_.expires_after(ctx_.options.max_connection_age);
  age_timer_.async_wait([self](std::error_code ec) {
    if (!ec) self->on_connection_age();
  });
  wait_first_byte();
}

void session::terminate() {
  if (phase_ == phase::closed) return;
  if (!tls_active_) return close();
  fail(session_detail::error("57P01", "terminating connection due to administrator command"));
}

void session::close() {
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  std::error_code ignored;
  startup_timer_.cancel();
  age_timer_.cancel();
  client_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
  client_.next_layer().close(ignored);
  backend_.close(ignored);
  if (front_pid_ != 0) ctx_.cancel_keys.erase(cancel_id(front_pid_, front_key_));
  if (holds_quota_) endpoint_.quota.release();
  if (backend_pid_ != 0) ctx_.backend_pids.erase(backend_pid_);
  if (ctx_.conflicts) ctx_.conflicts->statement_finished(*this);
  holds_quota_ = false;
  ctx_.live.erase(id_);
}

void session::read_backend() {
  if (backend_read_in_flight_ || !backend_.is_open()) return;
  if (phase_ != phase::backend_startup && phase_ != phase::relay) return;
  if (client_out_bytes_ > backpressure_bytes) return;  // resumed by write_client
  backend_read_in_flight_ = true;
  auto self = shared_from_this();
  backend_.async_read_some(asio::buffer(backend_buf_), [self](std::error_code ec, std::size_t n) {
    self->backend_read_in_flight_ = false;
    if (self->phase_ == phase::closed) return;
    if (ec) {
      // The backend ended the session (Terminate, FATAL, shutdown): let the client read the rest.
      return self->close_after_flush();
    }
    self->backend_reader_.feed(self->backend_buf_.data(), n);
    const write_hold hold(*self);
    while (auto m = self->backend_reader_.next()) {
      self->on_backend_message(std::move(*m));
      if (self->phase_ == phase::closed) return;
    }
    if (self->backend_reader_.error()) return self->close();
    self->read_backend();
  });
}

void session::read_client() {
  if (client_read_in_flight_ || paused_ || phase_ != phase::relay) return;
  if (backend_out_bytes_ > backpressure_bytes) return;  // resumed by write_backend
  client_read_in_flight_ = true;
  auto self = shared_from_this();
  client_.async_read_some(asio::buffer(client_buf_), [self](std::error_code ec, std::size_t n) {
    self->client_read_in_flight_ = false;
    if (self->phase_ == phase::closed) return;
    if (ec) return self->close();
    self->client_reader_.feed(self->client_buf_.data(), n);
    self->process_client_messages();
  });
}

void session::process_client_messages() {
  const write_hold hold(*this);
  while (!paused_ && phase_ == phase::relay) {
    auto m = client_reader_.next();
    if (!m) break;
    if (!on_client_message(*m)) return;
  }
  // DSQL drops a connection that sends a message over 10 MiB without an ErrorResponse.
  if (client_reader_.error()) return close();
  read_client();
}

void session::resume_client() {
  paused_ = false;
  process_client_messages();
}

void session::on_connection_age() {
  age_expired_ = true;
  if (phase_ == phase::closed) return;
  if (phase_ != phase::relay) return;  // checked again once the session is ready
  if (txn_status_ == 'I' && outstanding_ == 0 && !paused_) {
    // DSQL just closes the connection at the cap: no ErrorResponse, the client sees EOF.
    ctx_.log(tag() + "maximum connection age reached; closing");
    return close();
  }
  auto self = shared_from_this();
  age_timer_.expires_after(transaction_grace);
  age_timer_.async_wait([self](std::error_code ec) {
    if (ec || self->phase_ == phase::closed) return;
    self->ctx_.log(self->tag() + "transaction outlived the connection age cap; closing");
    self->close();
  });
}

void session::cancel_backend_query() {
  if (backend_pid_ == 0) return;
  const std::string path =
      ctx_.options.backend_socket_dir + "/.s.PGSQL." + std::to_string(ctx_.options.backend_port);
  auto sock = std::make_shared<asio::local::stream_protocol::socket>(ctx_.io);
  auto packet =
      std::make_shared<std::string>(wire::build_cancel_request(backend_pid_, backend_key_));
  ctx_.log(tag() + "forwarding a cancel request");
  sock->async_connect(asio::local::stream_protocol::endpoint(path), [sock,
                                                                     packet](std::error_code ec) {
    if (ec) return;
    asio::async_write(*sock, asio::buffer(*packet), [sock, packet](std::error_code, std::size_t) {
      std::error_code ignored;
      sock->close(ignored);
    });
  });
}

// ---- output ---------------------------------------------------------------------------------

void session::send_client(std::string bytes) {
  if (phase_ == phase::closed) return;
  client_out_bytes_ += bytes.size();
  client_out_.push_back(std::move(bytes));
  write_client();
}

void session::send_backend(std::string bytes) {
  if (phase_ == phase::closed) return;
  backend_out_bytes_ += bytes.size();
  backend_out_.push_back(std::move(bytes));
  write_backend();
}

void session::write_client() {
  if (held_writes_ > 0 || client_writing_ || client_out_.empty() || phase_ == phase::closed) return;
  client_writing_ = true;
  // Coalesce small messages into one TLS record run.
  while (client_out_.size() > 1 && client_out_.front().size() < 65536) {
    std::string merged = std::move(client_out_.front());
    client_out_.pop_front();
    merged += client_out_.front();
    client_out_.front() = std::move(merged);
  }
  auto self = shared_from_this();
  auto done = [self](std::error_code ec, std::size_t) {
    self->client_writing_ = false;
    if (self->phase_ == phase::closed) return;
    if (ec) return self->close();
    self->client_out_bytes_ -= self->client_out_.front().size();
    self->client_out_.pop_front();
    if (self->client_out_.empty() && self->close_after_flush_) return self->close();
    self->write_client();
    self->read_backend();
  };
  if (tls_active_) {
    asio::async_write(client_, asio::buffer(client_out_.front()), done);
  } else {
    asio::async_write(client_.next_layer(), asio::buffer(client_out_.front()), done);
  }
}

void session::write_backend() {
  if (held_writes_ > 0 || backend_writing_ || backend_out_.empty() || phase_ == phase::closed) {
    return;
  }
  backend_writing_ = true;
  while (backend_out_.size() > 1 && backend_out_.front().size() < 65536) {
    std::string merged = std::move(backend_out_.front());
    backend_out_.pop_front();
    merged += backend_out_.front();
    backend_out_.front() = std::move(merged);
  }
  auto self = shared_from_this();
  asio::async_write(backend_, asio::buffer(backend_out_.front()),
                    [self](std::error_code ec, std::size_t) {
                      self->backend_writing_ = false;
                      if (self->phase_ == phase::closed) return;
                      if (ec) return self->close_after_flush();
                      self->backend_out_bytes_ -= self->backend_out_.front().size();
                      self->backend_out_.pop_front();
                      self->write_backend();
                      self->read_client();
                    });
}

void session::fail(const wire::error_info& err) {
  send_client(wire::error_response("FATAL", err));
  close_after_flush();
}

void session::close_after_flush() {
  if (phase_ == phase::closed) return;
  close_after_flush_ = true;
  if (client_out_.empty() && !client_writing_) close();
}

}  // namespace dsql::local
