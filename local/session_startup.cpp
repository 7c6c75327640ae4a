#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <random>

#include "local/session.hpp"
#include "local/session_internal.hpp"
#include "local/token_verifier.hpp"
#include "util/printable.hpp"

namespace dsql::local {
namespace {

using asio::ip::tcp;
using session_detail::access_denied;
using session_detail::cancel_id;
using session_detail::error;

// What every client session runs with on the backend: DSQL's rules (dsql_rules) and isolation.
// A write-write conflict waits on a row lock in PostgreSQL until the front's conflict monitor
// settles it, within milliseconds; the lock timeout is only a safety net.
constexpr const char* session_options =
    "-c dsql_rules.client_session=on -c default_transaction_isolation=repeatable\\ read "
    "-c lock_timeout=1s";

bool is_endpoint_name(const std::vector<std::string>& names, const std::string& name) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    return n.size() == name.size() &&
           std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  });
}

std::uint32_t random_u32() {
  std::uint32_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
    v = static_cast<std::uint32_t>(std::random_device{}());
  }
  return v;
}

}  // namespace

// ---- preamble -------------------------------------------------------------------------------

void session::wait_first_byte() {
  auto self = shared_from_this();
  client_.next_layer().async_wait(tcp::socket::wait_read, [self](std::error_code ec) {
    if (ec || self->phase_ == phase::closed) return self->close();
    unsigned char first = 0;
    std::error_code peek_ec;
    const std::size_t n = self->client_.next_layer().receive(asio::buffer(&first, 1),
                                                             tcp::socket::message_peek, peek_ec);
    if (peek_ec || n == 0) return self->close();
    if (first == 0x16) {
      // A TLS ClientHello: PostgreSQL 17's direct TLS (sslnegotiation=direct).
      self->direct_tls_ = true;
      return self->handshake();
    }
    self->read_preamble_packet();
  });
}

void session::read_preamble_packet() {
  auto self = shared_from_this();
  packet_.assign(8, '\0');
  asio::async_read(
      client_.next_layer(), asio::buffer(packet_), [self](std::error_code ec, std::size_t) {
        if (ec || self->phase_ == phase::closed) return self->close();
        const std::uint32_t length = wire::read_u32(self->packet_, 0);
        if (auto e = wire::check_startup_length(length)) return self->fail(*e);
        self->packet_.resize(length);
        if (length == 8) return self->on_preamble_packet(self->packet_);
        asio::async_read(self->client_.next_layer(), asio::buffer(&self->packet_[8], length - 8),
                         [self](std::error_code ec2, std::size_t) {
                           if (ec2 || self->phase_ == phase::closed) return self->close();
                           self->on_preamble_packet(self->packet_);
                         });
      });
}

void session::on_preamble_packet(const std::string& packet) {
  const auto parsed = wire::parse_startup(packet);
  if (const auto* e = std::get_if<wire::error_info>(&parsed)) return fail(*e);
  const auto& p = std::get<wire::startup_packet>(parsed);
  switch (p.kind) {
    case wire::startup_kind::ssl_request: {
      auto self = shared_from_this();
      asio::async_write(client_.next_layer(), asio::buffer("S", 1),
                        [self](std::error_code ec, std::size_t) {
                          if (ec) return self->close();
                          self->handshake();
                        });
      return;
    }
    case wire::startup_kind::gssenc_request: {
      // No GSSAPI here; libpq then falls back to an SSLRequest on the same connection.
      if (++preamble_rounds_ > 2) return close();
      auto self = shared_from_this();
      asio::async_write(client_.next_layer(), asio::buffer("N", 1),
                        [self](std::error_code ec, std::size_t) {
                          if (ec) return self->close();
                          self->read_preamble_packet();
                        });
      return;
    }
    case wire::startup_kind::cancel_request: {
      const auto it = ctx_.cancel_keys.find(cancel_id(p.cancel_pid, p.cancel_key));
      if (it != ctx_.cancel_keys.end()) {
        if (auto target = it->second.lock()) target->cancel_backend_query();
      }
      return close();
    }
    case wire::startup_kind::startup:
      return fail(error("28000", "unable to accept connection, ssl is required"));
  }
}

void session::handshake() {
  phase_ = phase::tls;
  auto self = shared_from_this();
  client_.async_handshake(asio::ssl::stream_base::server, [self](std::error_code ec) {
    if (self->phase_ == phase::closed) return;
    if (ec) {
      self->ctx_.log(self->tag() + "TLS handshake failed: " + ec.message());
      return self->close();
    }
    self->tls_active_ = true;
    SSL* ssl = self->client_.native_handle();
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) self->sni_ = name;
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (self->direct_tls_ && alpn_len == 0) {
      return self->fail(error("08P01",
                              "received direct SSL connection request without ALPN protocol "
                              "negotiation extension"));
    }
    // A name the client asked for must be this endpoint's (DSQL routes by it); clients that
    // connect by address send none.
    if (!self->sni_.empty() && !is_endpoint_name(self->endpoint_.options.hostnames, self->sni_)) {
      self->ctx_.log(self->tag() + "refused: the TLS server name " + util::quoted(self->sni_) +
                     " is not a name of this endpoint");
      return self->fail(error("28000", std::string(access_denied)));
    }
    self->read_startup_in_tls();
  });
}

void session::read_startup_in_tls() {
  phase_ = phase::startup;
  auto self = shared_from_this();
  packet_.assign(4, '\0');
  asio::async_read(client_, asio::buffer(packet_), [self](std::error_code ec, std::size_t) {
    if (ec || self->phase_ == phase::closed) return self->close();
    const std::uint32_t length = wire::read_u32(self->packet_, 0);
    if (auto e = wire::check_startup_length(length)) return self->fail(*e);
    self->packet_.resize(length);
    asio::async_read(self->client_, asio::buffer(&self->packet_[4], length - 4),
                     [self](std::error_code ec2, std::size_t) {
                       if (ec2 || self->phase_ == phase::closed) return self->close();
                       const auto parsed = wire::parse_startup(self->packet_);
                       if (const auto* e = std::get_if<wire::error_info>(&parsed)) {
                         return self->fail(*e);
                       }
                       const auto& p = std::get<wire::startup_packet>(parsed);
                       if (p.kind != wire::startup_kind::startup) {
                         return self->fail(error("08P01", "unexpected startup packet inside TLS"));
                       }
                       self->on_startup(p);
                     });
  });
}

void session::on_startup(const wire::startup_packet& startup) {
  auto checked = check_startup(startup, session_options);
  if (const auto* refusal = std::get_if<wire::error_info>(&checked)) return fail(*refusal);
  backend_login& login = std::get<backend_login>(checked);
  user_ = login.user;
  backend_params_ = std::move(login.params);

  // DSQL's quotas, before any work on the token: a storm is refused cheaply.
  switch (endpoint_.quota.admit(std::chrono::steady_clock::now())) {
    case connection_quota::verdict::rate_exceeded:
      ctx_.log(tag() + "refused: connection rate exceeded");
      return fail(error("53400", "Unable to accept connection, rate exceeded."));
    case connection_quota::verdict::too_many_connections:
      ctx_.log(tag() + "refused: too many open connections");
      return fail(error("53300", "Unable to accept connection, too many open connections."));
    case connection_quota::verdict::admitted:
      holds_quota_ = true;
      break;
  }

  if ((startup.protocol & 0xffff) != 0) send_client(wire::negotiate_protocol_version(0));
  phase_ = phase::authenticating;
  send_client(wire::authentication_request(3));
  read_password();
}

void session::read_password() {
  auto self = shared_from_this();
  packet_.assign(5, '\0');
  asio::async_read(client_, asio::buffer(packet_), [self](std::error_code ec, std::size_t) {
    if (ec || self->phase_ == phase::closed) return self->close();
    if (self->packet_[0] != 'p') {
      return self->fail(error("08P01", "expected password response, got message type " +
                                           std::to_string(static_cast<int>(self->packet_[0]))));
    }
    const std::uint32_t length = wire::read_u32(self->packet_, 1);
    if (length < 5 || length - 4 > wire::max_password_message) {
      return self->fail(error("08P01", "invalid password packet size"));
    }
    self->packet_.resize(length - 4);
    asio::async_read(self->client_, asio::buffer(self->packet_),
                     [self](std::error_code ec2, std::size_t) {
                       if (ec2 || self->phase_ == phase::closed) return self->close();
                       const auto password = wire::parse_password(self->packet_);
                       self->packet_.clear();
                       if (!password) {
                         return self->fail(error("08P01", "invalid password packet size"));
                       }
                       self->on_password(*password);
                     });
  });
}

void session::on_password(const std::string& password) {
  verify_input in;
  in.password = password;
  in.user = user_;
  in.hostnames = &endpoint_.options.hostnames;
  in.region = endpoint_.options.region;
  in.identities = &ctx_.options.identities;
  in.now = ctx_.now();
  in.skew = ctx_.options.clock_skew;
  const verify_result r = verify_token(in);
  if (!r.ok) {
    ctx_.log(tag() + "refused user " + util::quoted(user_) + ": " + r.reason);
    return fail(error("28000", std::string(access_denied), r.hint));
  }
  if (user_ == "admin") return connect_backend();
  auto self = shared_from_this();
  ctx_.bookkeeping.check_login(
      user_, r.who->principal_arn,
      [self, guard = asio::make_work_guard(ctx_.io),
       arn = r.who->principal_arn](std::optional<bool> allowed) {
        asio::post(self->ctx_.io, [self, allowed, arn] {
          if (self->phase_ == phase::closed) return;
          if (!allowed) {
            // The mappings could not be read (logged by the bookkeeping): not the client's
            // fault, and worth a retry.
            return self->fail(error("57P03",
                                    "unable to accept connection, the local endpoint could not "
                                    "check IAM role mappings; please retry"));
          }
          if (!*allowed) {
            self->ctx_.log(self->tag() + "refused user " + util::quoted(self->user_) + ": " +
                           util::printable(arn) +
                           " is not mapped to it (AWS IAM GRANT) or it cannot log in");
            return self->fail(error("28000", std::string(access_denied)));
          }
          self->connect_backend();
        });
      });
}

void session::connect_backend() {
  phase_ = phase::backend_startup;
  const std::string path =
      ctx_.options.backend_socket_dir + "/.s.PGSQL." + std::to_string(ctx_.options.backend_port);
  auto self = shared_from_this();
  backend_.async_connect(asio::local::stream_protocol::endpoint(path), [self](std::error_code ec) {
    if (self->phase_ == phase::closed) return;
    if (ec) {
      self->ctx_.log(self->tag() + "backend connection failed: " + ec.message());
      return self->fail(
          error("57P03", "unable to accept connection, the local database is not available"));
    }
    self->send_backend(wire::build_startup(self->backend_params_));
    self->read_backend();
  });
}

void session::on_backend_message(wire::message m) {
  if (phase_ == phase::relay) return relay_backend_message(m);
  switch (m.type) {
    case 'R':
      if (m.body.size() >= 4 && wire::read_u32(m.body, 0) == 0) {
        send_client(wire::authentication_request(0));
      } else {
        ctx_.log(tag() + "backend asked for a password; it must trust local socket logins");
        fail(error("28000", std::string(access_denied)));
      }
      return;
    case 'K':
      if (m.body.size() == 8) {
        backend_pid_ = wire::read_u32(m.body, 0);
        backend_key_ = wire::read_u32(m.body, 4);
        ctx_.backend_pids[backend_pid_] = weak_from_this();
      }
      // The client gets keys of the front's own, so a cancel must come through the front.
      do {
        front_pid_ = (random_u32() & 0x3fffffff) | 1;
        front_key_ = random_u32();
      } while (ctx_.cancel_keys.count(cancel_id(front_pid_, front_key_)) != 0);
      ctx_.cancel_keys[cancel_id(front_pid_, front_key_)] = weak_from_this();
      send_client(wire::backend_key_data(front_pid_, front_key_));
      return;
    case 'E':
      send_client(wire::frame(m.type, m.body));
      return close_after_flush();
    case 'Z':
      txn_status_ = m.body.empty() ? 'I' : m.body[0];
      phase_ = phase::relay;
      startup_timer_.cancel();
      send_client(wire::frame(m.type, m.body));
      ctx_.log(tag() + "user " + util::quoted(user_) + " connected" +
               (sni_.empty() ? " (no SNI)" : ""));
      if (age_expired_) return on_connection_age();
      return read_client();
    default:
      return relay_backend_message(m);
  }
}
}  // namespace dsql::local
