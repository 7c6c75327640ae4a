// async_connect: credentials and configuration files on the library's threads, the host name on
// Asio's resolver, the token signed without blocking, then libpq's non-blocking connect.
#include "connect.hpp"

#include <libpq-fe.h>

#include "background.hpp"
#include "connect_report.hpp"
#include "connection_impl.hpp"
#include "libpq_support.hpp"
#include "server_error.hpp"
#include "util/secret.hpp"

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#else
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#endif

namespace dsql::detail {
namespace {

using util::secret;

// libpq's connect handshake on the connection's strand: PQconnectPoll whenever the socket is
// ready the way libpq asked for.
class handshake_op final : public io_op {
 public:
  handshake_op(const resolved_config& settings, unique_function<void(std::exception_ptr)> done)
      : settings_(settings), report_(settings), done_(std::move(done)) {}

  bool advance(async_connection_impl& c) override {
    PGconn* conn = c.conn();
    if (conn == nullptr) throw connection_error("the connection is closed");
    // libpq: act as if PQconnectPoll had asked for a writable socket before its first call.
    auto state = PGRES_POLLING_WRITING;
    if (polled_) {
      polled_ = false;
      state = result_;
    } else if (started_) {
      // The socket is ready: the step itself (TLS handshake work) runs off the caller's loop.
      c.run_elsewhere([this, conn] {
        result_ = PQconnectPoll(conn);
        polled_ = true;
      });
      return false;
    } else if (PQstatus(conn) == CONNECTION_BAD) {
      state = PGRES_POLLING_FAILED;
    }
    started_ = true;
    if (state == PGRES_POLLING_OK) {
      c.rewrap_socket();  // the socket the statements will use
      report_.succeeded();
      return true;
    }
    if (state == PGRES_POLLING_FAILED) {
      try {
        throw_connect_failure(PQerrorMessage(conn), settings_);
      } catch (...) {
        error_ = std::current_exception();
      }
      report_.failed(error_);
      return true;
    }
    c.rewrap_socket();
    c.await_io(state == PGRES_POLLING_READING, state == PGRES_POLLING_WRITING);
    return false;
  }

  void complete(async_connection_impl&, std::exception_ptr error) override {
    if (error) report_.failed(error);  // closed or timed out: not reported yet
    done_(error ? error : error_);
  }

 private:
  const resolved_config& settings_;  // the connector's, which outlives the run
  connect_report report_;
  unique_function<void(std::exception_ptr)> done_;
  bool started_ = false;
  bool polled_ = false;  // result_ holds the answer of a step run elsewhere
  PostgresPollingStatusType result_ = PGRES_POLLING_WRITING;
  std::exception_ptr error_;
};

bool is_numeric_address(const std::string& host) {
  net_error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

bool signature_expired(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const auth_error& a) {
    return a.signature_expired();
  } catch (...) {
    return false;
  }
}

// One connect from start to end. Its own handlers run on its strand; the blocking work and the
// connection's strand post back to it. The blocking work hands its reference over with its
// result rather than keeping one: the run's timer and sockets belong to the caller's context and
// must not be destroyed on the library's threads, where that context may already be gone.
class connect_run : public std::enable_shared_from_this<connect_run> {
 public:
  connect_run(const net::any_io_executor& ex, async_options options, connect_done done)
      : ex_(ex),
        strand_(net::make_strand(ex)),
        timer_(strand_),
        resolver_(strand_),
        options_(std::move(options)),
        done_(std::move(done)) {}

  void begin(std::optional<config> cfg, std::shared_ptr<connector> source) {
    watch_cancellation();
    auto self = shared_from_this();
    if (source) {
      net::post(strand_, [self, source] { self->have_connector(source); });
      return;
    }
    // Resolving the config may read the shared config file (the region of a profile).
    net::post(blocking_executor(), [self, cfg = std::move(*cfg)]() mutable {
      try {
        auto made = std::make_shared<connector>(cfg);
        back_on_loop(std::move(self), [made](connect_run& r) { r.have_connector(made); });
      } catch (...) {
        back_on_loop(std::move(self),
                     [e = std::current_exception()](connect_run& r) { r.fail(e); });
      }
    });
  }

 private:
  // From the library's threads back to the run's strand. The reference to the run travels with
  // `f` and is dropped on the caller's context only: dropped on a library thread, it could
  // destroy the run's strand, timer and sockets after that context is gone. Nothing but a copy
  // of the caller's executor stays behind there.
  template <class F>
  static void back_on_loop(std::shared_ptr<connect_run>&& self, F f) {
    const net::any_io_executor loop = self->ex_;
    net::post(loop, [self = std::move(self), f = std::move(f)]() mutable {
      const auto strand = self->strand_;  // a copy: `f` may end the run and the strand with it
      net::dispatch(strand, [self = std::move(self), f = std::move(f)]() mutable { f(*self); });
    });
  }

  void watch_cancellation() {
    auto slot = done_.cancellation_slot();
    if (!slot.is_connected()) return;
    std::weak_ptr<connect_run> weak = shared_from_this();
    slot.assign([weak](net::cancellation_type type) {
      if ((type & net::cancellation_type::terminal) == net::cancellation_type::none) return;
      if (auto self = weak.lock()) {
        net::post(self->strand_, [self] {
          self->fail(std::make_exception_ptr(cancelled_error("the connect was cancelled")));
        });
      }
    });
  }

  void have_connector(std::shared_ptr<connector> source) {
    if (finished_) return;
    source_ = std::move(source);
    timer_.expires_after(source_->settings().connect_timeout);
    timer_.async_wait([self = shared_from_this()](const auto& ec) {
      if (!ec)
        self->fail(std::make_exception_ptr(connect_timeout_error(self->source_->settings())));
    });
    fetch_token(false);
  }

  // A reused token is at hand without blocking; signing a new one may have to resolve
  // credentials first, which may block, so that happens on the library's threads.
  void fetch_token(bool fresh) {
    if (!fresh) {
      if (auto reused = source_->reusable_token()) {
        have_token(secret(std::move(*reused)));
        return;
      }
    }
    net::post(blocking_executor(), [self = shared_from_this(), source = source_, fresh]() mutable {
      try {
        auto token = std::make_shared<secret>(fresh ? source->fresh_token() : source->token());
        back_on_loop(std::move(self), [token](connect_run& r) { r.have_token(std::move(*token)); });
      } catch (...) {
        back_on_loop(std::move(self),
                     [e = std::current_exception()](connect_run& r) { r.fail(e); });
      }
    });
  }

  void have_token(secret token) {
    if (finished_) return;
    if (!params_.empty()) {  // a second try: the addresses are known
      handshake(std::move(token));
      return;
    }
    params_ = source_->libpq_parameters();
    const auto& s = source_->settings();
    // libpq would resolve the name itself, blocking; with hostaddr it does not.
    if (!s.source.hostaddr.empty() || is_numeric_address(s.target.host)) {
      handshake(std::move(token));
      return;
    }
    auto pending = std::make_shared<secret>(std::move(token));
    resolver_.async_resolve(
        s.target.host, std::to_string(s.target.port),
        [self = shared_from_this(), pending](const auto& ec, const auto& results) {
          if (self->finished_) return;
          if (ec) {
            self->fail(std::make_exception_ptr(
                connection_error("could not resolve " + self->source_->settings().target.host +
                                 ": " + ec.message())));
            return;
          }
          self->use_addresses(results);
          self->handshake(std::move(*pending));
        });
  }

  // Every address, in the resolver's order, for libpq to try in turn (as it would have); TLS
  // still verifies the host name.
  template <class Results>
  void use_addresses(const Results& results) {
    std::string hosts, addresses;
    std::size_t n = 0;
    for (const auto& entry : results) {
      const std::string a = entry.endpoint().address().to_string();
      if (addresses.find(a) != std::string::npos || ++n > 8) continue;
      hosts += (hosts.empty() ? "" : ",") + source_->settings().target.host;
      addresses += (addresses.empty() ? "" : ",") + a;
    }
    for (auto& [key, value] : params_) {
      if (key == "host") value = hosts;
    }
    params_.emplace_back("hostaddr", addresses);
  }

  // PQconnectStartParams parses, allocates and opens the socket: off the caller's loop as well.
  void handshake(secret token) {
    auto pending = std::make_shared<secret>(std::move(token));
    net::post(compute_executor(), [self = shared_from_this(), params = params_, pending]() mutable {
      try {
        PGconn* pg = start_libpq(params, pending->value);
        back_on_loop(std::move(self), [pg](connect_run& r) { r.started(pg); });
      } catch (...) {
        back_on_loop(std::move(self),
                     [e = std::current_exception()](connect_run& r) { r.fail(e); });
      }
    });
  }

  void started(PGconn* pg) {
    conn_ = std::make_shared<async_connection_impl>(ex_, pg);  // closes pg however this ends
    if (finished_) {
      conn_.reset();
      return;
    }
    conn_->try_claim();
    auto self = shared_from_this();
    conn_->start(std::make_unique<handshake_op>(source_->settings(),
                                                [self](std::exception_ptr e) {
                                                  net::post(self->strand_,
                                                            [self, e] { self->handshake_done(e); });
                                                }),
                 std::chrono::milliseconds(0), net::cancellation_slot());
  }

  void handshake_done(std::exception_ptr e) {
    if (finished_) return;
    if (e) {
      // Worth one more try with a freshly signed token; anything else would fail again.
      if (!retried_ && signature_expired(e)) {
        retried_ = true;
        conn_.reset();
        fetch_token(true);
        return;
      }
      fail(e);
      return;
    }
    PQsetnonblocking(conn_->conn(), 1);
    conn_->set_exec_timeout(options_.exec_timeout);
    async_connection handle(conn_);
    if (options_.after_connect.empty()) {
      succeed(std::move(handle));
      return;
    }
    std::vector<statement> setup;
    for (const auto& sql : options_.after_connect) setup.push_back({sql, {}});
    pending_ = std::move(handle);
    pending_.async_pipeline(
        std::move(setup),
        net::bind_executor(strand_, [self = shared_from_this()](std::exception_ptr err, auto) {
          if (self->finished_) return;
          if (err) {
            self->fail(err);
          } else {
            self->succeed(std::move(self->pending_));
          }
        }));
  }

  void succeed(async_connection handle) {
    finished_ = true;
    timer_.cancel();
    done_(nullptr, std::move(handle));
  }

  void fail(std::exception_ptr e) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    if (conn_) conn_->close_soon();
    pending_.close();
    done_(std::move(e), async_connection());
  }

  net::any_io_executor ex_;
  net::strand<net::any_io_executor> strand_;
  net::steady_timer timer_;
  net::ip::tcp::resolver resolver_;
  async_options options_;
  connect_done done_;
  std::shared_ptr<connector> source_;
  std::vector<std::pair<std::string, std::string>> params_;
  std::shared_ptr<async_connection_impl> conn_;
  async_connection pending_;  // while after_connect runs
  bool finished_ = false;
  bool retried_ = false;
};

}  // namespace

void start_connect(const net::any_io_executor& ex, const config& cfg, async_options options,
                   connect_done done) {
  auto run = std::make_shared<connect_run>(ex, std::move(options), std::move(done));
  run->begin(cfg, nullptr);
}

void start_connect(const net::any_io_executor& ex, std::shared_ptr<connector> source,
                   async_options options, connect_done done) {
  auto run = std::make_shared<connect_run>(ex, std::move(options), std::move(done));
  run->begin(std::nullopt, std::move(source));
}

}  // namespace dsql::detail
