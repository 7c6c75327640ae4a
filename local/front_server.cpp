#include "local/front_server.hpp"

#include <openssl/ssl.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <stdexcept>

#include "local/front_bookkeeping.hpp"
#include "local/session.hpp"

namespace dsql::local {
namespace {

constexpr unsigned char alpn_postgresql[] = {'p', 'o', 's', 't', 'g', 'r', 'e', 's', 'q', 'l'};

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

}  // namespace

struct front_server::impl {
  front_options options;
  asio::io_context io{1};
  asio::ssl::context tls{asio::ssl::context::tls_server};
  asio::ip::tcp::acceptor acceptor{io};
  front_bookkeeping bookkeeping;
  front_context ctx;
  bool stopping = false;
  std::uint16_t bound_port = 0;

  explicit impl(front_options o)
      : options(std::move(o)),
        bookkeeping(options.backend_socket_dir, options.backend_port, options.backend_superuser,
                    options.log),
        ctx{io, tls, options, bookkeeping, {}, {}, {}, 1} {
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

    std::error_code ec;
    const auto address = asio::ip::make_address(options.listen_address, ec);
    if (ec) throw std::runtime_error("invalid listen address " + options.listen_address);
    const asio::ip::tcp::endpoint endpoint(address, options.port);
    const std::string where = options.listen_address + ":" + std::to_string(options.port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    bound_port = acceptor.local_endpoint().port();
  }

  void accept() {
    acceptor.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
      if (stopping || !acceptor.is_open()) return;
      if (!ec) {
        std::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        std::make_shared<session>(ctx, std::move(socket))->start();
      } else if (ec != asio::error::operation_aborted) {
        ctx.log("front: accept failed: " + ec.message());
      }
      accept();
    });
  }

  void shutdown() {
    stopping = true;
    std::error_code ignored;
    acceptor.close(ignored);
    // Copy first: closing a session removes it from the map.
    std::vector<std::shared_ptr<session>> sessions;
    for (auto& [id, weak] : ctx.live) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
    for (auto& s : sessions) s->close();
  }
};

front_server::front_server(front_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

front_server::~front_server() {
  // Queued bookkeeping callbacks post into io; stop the worker before io goes away.
  impl_->bookkeeping.stop();
}

void front_server::prepare_backend() {
  impl_->bookkeeping.prepare();
}

std::uint16_t front_server::port() const {
  return impl_->bound_port;
}

void front_server::run() {
  impl_->accept();
  impl_->io.run();
}

void front_server::stop() {
  asio::post(impl_->io, [this] {
    impl_->shutdown();
    impl_->bookkeeping.stop();
  });
}

}  // namespace dsql::local
