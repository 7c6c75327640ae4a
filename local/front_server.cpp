#include "local/front_server.hpp"

#include <openssl/ssl.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <cerrno>
#include <stdexcept>

#include "local/front_bookkeeping.hpp"
#include "local/session.hpp"

namespace dsql::local {
namespace {

constexpr unsigned char alpn_postgresql[] = {'p', 'o', 's', 't', 'g', 'r', 'e', 's', 'q', 'l'};
// Out of file descriptors, accept() fails at once until one is freed: wait instead of spinning.
constexpr std::chrono::milliseconds accept_backoff{100};

// Picks "postgresql" when the client offers it. Without it the handshake still completes, and the
// session decides: direct TLS requires ALPN (as PostgreSQL 17 does), the SSLRequest path does not.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  for (unsigned int i = 0; i < inlen;) {
    const unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == sizeof alpn_postgresql &&
        std::equal(in + i + 1, in + i + 1 + len, std::begin(alpn_postgresql))) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

bool out_of_descriptors(const std::error_code& ec) {
  return ec.value() == EMFILE || ec.value() == ENFILE;
}

}  // namespace

// One endpoint's listening socket.
struct listener {
  endpoint_state state;
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer backoff;
  std::uint16_t port = 0;
  bool starved = false;  // accept() is failing for want of file descriptors

  listener(asio::io_context& io, endpoint_options options)
      : state(std::move(options), std::chrono::steady_clock::now()), acceptor(io), backoff(io) {}
};

struct front_server::impl {
  front_options options;
  asio::io_context io{1};
  asio::ssl::context tls{asio::ssl::context::tls_server};
  front_bookkeeping bookkeeping;
  front_context ctx;
  conflict_monitor conflicts;
  std::vector<std::unique_ptr<listener>> listeners;
  asio::steady_timer shutdown_timer{io};
  bool stopping = false;

  explicit impl(front_options o)
      : options(std::move(o)),
        bookkeeping(options.backend_socket_dir, options.backend_port, options.backend_superuser,
                    options.log),
        ctx{io, tls, options, bookkeeping, {}, {}, {}, {}, nullptr, {}, 1},
        conflicts(io,
                  backend_worker_options{options.backend_socket_dir,
                                         options.backend_port,
                                         options.backend_superuser,
                                         "dsql-local-conflicts",
                                         "-c statement_timeout=1s -c client_min_messages=warning",
                                         {},
                                         options.log},
                  [this](std::uint32_t pid) -> std::shared_ptr<session> {
                    auto it = ctx.backend_pids.find(pid);
                    return it == ctx.backend_pids.end() ? nullptr : it->second.lock();
                  }) {
    ctx.conflicts = &conflicts;
    if (options.endpoints.empty()) throw std::runtime_error("the front needs an endpoint");
    tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_alpn_select_cb(tls.native_handle(), select_alpn, nullptr);
    try {
      tls.use_certificate_chain_file(options.certificate_file);
      tls.use_private_key_file(options.private_key_file, asio::ssl::context::pem);
    } catch (const std::system_error& e) {
      throw std::runtime_error("cannot load the TLS certificate " + options.certificate_file +
                               " or key " + options.private_key_file + ": " + e.what());
    }
    ctx.control_endpoint = [this](bool stop, const std::string& which) {
      return control(stop, which);
    };
    for (const auto& e : options.endpoints) {
      listeners.push_back(std::make_unique<listener>(io, e));
      bind(*listeners.back(), e.port);
    }
  }

  void bind(listener& l, std::uint16_t port) {
    std::error_code ec;
    const auto address = asio::ip::make_address(l.state.options.listen_address, ec);
    if (ec) throw std::runtime_error("invalid listen address " + l.state.options.listen_address);
    const asio::ip::tcp::endpoint endpoint(address, port);
    const std::string where = l.state.options.listen_address + ":" + std::to_string(port);
    l.acceptor.open(endpoint.protocol(), ec);
    if (!ec) l.acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) l.acceptor.bind(endpoint, ec);
    if (!ec) l.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      std::error_code ignored;
      l.acceptor.close(ignored);
      throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    }
    l.port = l.acceptor.local_endpoint().port();
  }

  void accept(listener& l) {
    l.acceptor.async_accept([this, &l](std::error_code ec, asio::ip::tcp::socket socket) {
      if (stopping || !l.acceptor.is_open() || l.state.stopped) return;
      if (!ec) {
        if (l.starved) ctx.log("front: accepting connections again");
        l.starved = false;
        std::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        std::make_shared<session>(ctx, l.state, std::move(socket))->start();
      } else if (out_of_descriptors(ec)) {
        // Keep serving the connections already open; say it once per episode.
        if (!l.starved)
          ctx.log("front: accept failed: " + ec.message() + "; retrying every 100 ms");
        l.starved = true;
        l.backoff.expires_after(accept_backoff);
        l.backoff.async_wait([this, &l](std::error_code timer_ec) {
          if (!timer_ec) accept(l);
        });
        return;
      } else if (ec != asio::error::operation_aborted) {
        ctx.log("front: accept failed: " + ec.message());
      }
      accept(l);
    });
  }

  std::vector<std::shared_ptr<session>> sessions_of(const endpoint_state* only) {
    // A copy: closing a session removes it from the map.
    std::vector<std::shared_ptr<session>> sessions;
    for (auto& [id, weak] : ctx.live) {
      if (auto s = weak.lock(); s && (!only || &s->endpoint() == only)) sessions.push_back(s);
    }
    return sessions;
  }

  void close_sessions(const endpoint_state* only) {
    for (auto& s : sessions_of(only)) s->close();
  }

  // DSQL LOCAL STOP|START ENDPOINT: one endpoint of a pair goes down (its listener closes and its
  // sessions end, as in a Region outage) or comes back on the same port.
  std::optional<wire::error_info> control(bool stop, const std::string& which) {
    listener* target = nullptr;
    for (auto& l : listeners) {
      if (l->state.options.cluster_id == which || l->state.options.region == which)
        target = l.get();
    }
    if (!target) {
      return wire::error_info{"42704", "no endpoint with cluster id or region " + which, {}};
    }
    if (stop && !target->state.stopped) {
      target->state.stopped = true;
      std::error_code ignored;
      target->acceptor.close(ignored);
      target->backoff.cancel();
      close_sessions(&target->state);
      ctx.log("front: endpoint " + target->state.options.region + " stopped");
    } else if (!stop && target->state.stopped) {
      try {
        bind(*target, target->port);
      } catch (const std::exception& e) {
        return wire::error_info{"55000", e.what(), {}};
      }
      target->state.stopped = false;
      accept(*target);
      ctx.log("front: endpoint " + target->state.options.region + " started");
    }
    return std::nullopt;
  }

  void shutdown() {
    stopping = true;
    std::error_code ignored;
    for (auto& l : listeners) {
      l->acceptor.close(ignored);
      l->backoff.cancel();
    }
    for (auto& s : sessions_of(nullptr)) s->terminate();
    conflicts.stop();
    // A client that does not take its last message is not waited for.
    shutdown_timer.expires_after(std::chrono::seconds(1));
    shutdown_timer.async_wait([this](std::error_code) { close_sessions(nullptr); });
  }
};

front_server::front_server(front_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

front_server::~front_server() {
  // Queued callbacks post into io; stop the workers before io goes away.
  impl_->bookkeeping.stop();
  impl_->conflicts.stop();
}

void front_server::prepare_backend() {
  impl_->bookkeeping.prepare();
}

std::uint16_t front_server::port(std::size_t index) const {
  return impl_->listeners.at(index)->port;
}

void front_server::run() {
  for (auto& l : impl_->listeners) impl_->accept(*l);
  impl_->io.run();
}

void front_server::stop() {
  asio::post(impl_->io, [this] {
    impl_->shutdown();
    impl_->bookkeeping.stop();
  });
}

}  // namespace dsql::local
