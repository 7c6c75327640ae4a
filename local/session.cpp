#include "local/session.hpp"

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <random>

#include "local/token_verifier.hpp"

namespace dsql::local {
namespace {

using asio::ip::tcp;

constexpr std::string_view access_denied = "unable to accept connection, access denied";
constexpr std::string_view oc000 = "change conflicts with another transaction (OC000)";
constexpr std::string_view oc001 = "schema has been updated by another transaction (OC001)";
constexpr std::string_view dsql_server_version = "16.15";
// Writes queued beyond this stop reads from the other side until they drain.
constexpr std::size_t backpressure_bytes = 4 * 1024 * 1024;
// The longest a transaction may outlive the connection age cap (DSQL's transaction age limit).
constexpr std::chrono::seconds transaction_grace{300};
// Write-write conflicts wait on a row lock in PostgreSQL; bound the wait so they surface fast.
constexpr std::string_view backend_options =
    "-c default_transaction_isolation=repeatable\\ read -c lock_timeout=100ms";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Startup parameters DSQL lets a client set (the real allow-list is unknown; see dsql-server.md).
bool allowed_parameter(std::string_view name) {
  static const char* const allowed[] = {"application_name", "search_path", "timezone",
                                        "client_encoding",  "datestyle",   "extra_float_digits",
                                        "intervalstyle"};
  const std::string n = lower(name);
  return std::any_of(std::begin(allowed), std::end(allowed), [&](const char* a) { return n == a; });
}

// Checks "-c name=value" / "--name=value" switches in the options startup parameter. Returns the
// name of the first parameter that is not allowed ("options" for anything that is not a setting).
std::optional<std::string> refused_option(std::string_view options) {
  std::vector<std::string> words;
  std::string word;
  for (std::size_t i = 0; i < options.size(); ++i) {
    const char c = options[i];
    if (c == '\\' && i + 1 < options.size()) {
      word.push_back(options[++i]);
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string setting;
    if (words[i] == "-c" && i + 1 < words.size()) {
      setting = words[++i];
    } else if (words[i].rfind("-c", 0) == 0 && words[i].size() > 2) {
      setting = words[i].substr(2);
    } else if (words[i].rfind("--", 0) == 0) {
      setting = words[i].substr(2);
    } else {
      return std::string("options");
    }
    const std::size_t eq = setting.find('=');
    if (eq == std::string::npos) return std::string("options");
    std::string name = setting.substr(0, eq);
    std::replace(name.begin(), name.end(), '-', '_');
    if (!allowed_parameter(name)) return name;
  }
  return std::nullopt;
}

std::uint32_t random_u32() {
  std::uint32_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
    v = static_cast<std::uint32_t>(std::random_device{}());
  }
  return v;
}

std::uint64_t cancel_id(std::uint32_t pid, std::uint32_t key) {
  return (std::uint64_t{pid} << 32) | key;
}

wire::error_info error(std::string sqlstate, std::string message, std::string hint = {}) {
  return {std::move(sqlstate), std::move(message), std::move(hint)};
}

bool is_serialization_failure(const std::string& sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03";
}

}  // namespace

session::session(front_context& ctx, tcp::socket socket)
    : ctx_(ctx),
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
    self->close();
  });
  age_timer_.expires_after(ctx_.options.max_connection_age);
  age_timer_.async_wait([self](std::error_code ec) {
    if (!ec) self->on_connection_age();
  });
  wait_first_byte();
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
  ctx_.live.erase(id_);
}

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
  const std::string* user = startup.param("user");
  if (!user || user->empty()) {
    return fail(error("28000", "no PostgreSQL user name specified in startup packet"));
  }
  user_ = *user;
  const std::string* database = startup.param("database");
  const std::string db = database && !database->empty() ? *database : user_;
  if (db != "postgres") return fail(error("3D000", "database \"" + db + "\" does not exist"));

  backend_params_ = {{"user", user_}, {"database", "postgres"}};
  std::string options(backend_options);
  bool timezone_given = false;
  for (const auto& [name, value] : startup.params) {
    if (name == "user" || name == "database" || name.rfind("_pq_.", 0) == 0) continue;
    if (name == "options") {
      if (auto bad = refused_option(value)) {
        return fail(
            error("0A000", "setting configuration parameter \"" + *bad + "\" not supported"));
      }
      options += " " + value;
      continue;
    }
    if (!allowed_parameter(name)) {
      return fail(error("0A000", "setting configuration parameter \"" + name + "\" not supported"));
    }
    timezone_given = timezone_given || lower(name) == "timezone";
    backend_params_.emplace_back(name, value);
  }
  if (!timezone_given) backend_params_.emplace_back("TimeZone", "UTC");
  backend_params_.emplace_back("options", options);

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
  in.hostnames = &ctx_.options.hostnames;
  in.region = ctx_.options.region;
  in.identities = &ctx_.options.identities;
  in.now = ctx_.now();
  in.skew = ctx_.options.clock_skew;
  const verify_result r = verify_token(in);
  if (!r.ok) {
    ctx_.log(tag() + "refused user " + user_ + ": " + r.reason);
    return fail(error("28000", std::string(access_denied), r.hint));
  }
  if (user_ == "admin") return connect_backend();
  auto self = shared_from_this();
  ctx_.bookkeeping.check_login(
      user_, r.who->principal_arn,
      [self, guard = asio::make_work_guard(ctx_.io), arn = r.who->principal_arn](bool allowed) {
        asio::post(self->ctx_.io, [self, allowed, arn] {
          if (self->phase_ == phase::closed) return;
          if (!allowed) {
            self->ctx_.log(self->tag() + "refused user " + self->user_ + ": " + arn +
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

// ---- backend messages -----------------------------------------------------------------------

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
      ctx_.log(tag() + "user " + user_ + " connected" + (sni_.empty() ? " (no SNI)" : ""));
      if (age_expired_) return on_connection_age();
      return read_client();
    default:
      return relay_backend_message(m);
  }
}

void session::relay_backend_message(wire::message& m) {
  switch (m.type) {
    case 'S':
      if (auto ps = wire::parse_parameter_status(m.body); ps && ps->first == "server_version") {
        return send_client(wire::parameter_status("server_version", dsql_server_version));
      }
      break;
    case 'C':
      if (pending_ == pending_reply::commit_failure) {
        // The ROLLBACK that stood in for the armed COMMIT: report it as DSQL's OCC failure.
        return send_client(wire::error_response("ERROR", error("40001", std::string(oc000))));
      }
      break;
    case 'E': {
      auto fields = wire::parse_error_fields(m.body);
      if (!fields) break;
      const std::string* detail = wire::find_field(*fields, 'D');
      const std::string* code = wire::find_field(*fields, 'C');
      if (detail && *detail == raise_marker) {
        // Raised on the front's behalf: keep only what the front would have sent itself.
        wire::error_fields kept;
        for (auto& f : *fields) {
          if (f.first == 'S' || f.first == 'V' || f.first == 'C' || f.first == 'M' ||
              f.first == 'H') {
            kept.push_back(std::move(f));
          }
        }
        return send_client(wire::frame('E', wire::build_error_fields(kept)));
      }
      if (code && is_serialization_failure(*code)) {
        wire::error_fields rewritten;
        for (auto& f : *fields) {
          if (f.first == 'S' || f.first == 'V') rewritten.push_back(std::move(f));
        }
        rewritten.emplace_back('C', "40001");
        rewritten.emplace_back('M', std::string(oc000));
        return send_client(wire::frame('E', wire::build_error_fields(rewritten)));
      }
      break;
    }
    case 'Z':
      txn_status_ = m.body.empty() ? 'I' : m.body[0];
      pending_ = pending_reply::none;
      if (outstanding_ > 0) --outstanding_;
      send_client(wire::frame(m.type, m.body));
      if (age_expired_ && txn_status_ == 'I' && outstanding_ == 0) {
        ctx_.log(tag() + "maximum connection age reached; closing");
        return close_after_flush();
      }
      if (outstanding_ == 0 && paused_ && stashed_) {
        wire::message next = std::move(*stashed_);
        stashed_.reset();
        paused_ = false;
        if (on_client_message(next)) resume_client();
      }
      return;
    default:
      break;
  }
  send_client(wire::frame(m.type, m.body));
}

// ---- client messages (relay) ----------------------------------------------------------------

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

bool session::on_client_message(wire::message& m) {
  switch (m.type) {
    case 'Q':
      return on_query(m);
    case 'P':
      on_parse(m);
      return true;
    case 'S':
    case 'F':
      ++outstanding_;
      break;
    default:
      break;
  }
  send_backend(wire::frame(m.type, m.body));
  return true;
}

void session::forward_raise(const wire::error_info& err) {
  ++outstanding_;
  send_backend(wire::build_query(raise_statement(err)));
}

void session::front_reply(const std::string& command_tag) {
  send_client(wire::command_complete(command_tag));
  send_client(wire::ready_for_query(txn_status_));
}

bool session::on_query(const wire::message& m) {
  const auto sql = wire::parse_query(m.body);
  if (!sql) {
    send_backend(wire::frame(m.type, m.body));
    ++outstanding_;
    return true;
  }
  const auto spans = split_statements(*sql);
  std::vector<statement_class> classes;
  classes.reserve(spans.size());
  for (const auto& s : spans)
    classes.push_back(classify_statement(sql->substr(s.begin, s.end - s.begin)));

  const bool any_front = std::any_of(classes.begin(), classes.end(),
                                     [](const statement_class& c) { return c.front_command(); });
  const bool armed_commit = classes.size() == 1 && classes[0].kind == statement_kind::commit &&
                            ctx_.faults.fail_commit > 0;
  if ((any_front && classes.size() == 1) || armed_commit) {
    // The front answers these itself, so it must know the transaction state: wait for the
    // backend to answer everything sent before.
    if (outstanding_ > 0) {
      stashed_ = m;
      paused_ = true;
      return false;
    }
    if (armed_commit) {
      if (txn_status_ != 'T') {
        send_backend(wire::frame(m.type, m.body));
        ++outstanding_;
        return true;
      }
      --ctx_.faults.fail_commit;
      ctx_.log(tag() + "injected OC000 at COMMIT");
      pending_ = pending_reply::commit_failure;
      ++outstanding_;
      send_backend(wire::build_query("ROLLBACK"));
      return true;
    }
    return run_front_command(classes[0]);
  }
  if (any_front) {
    forward_raise(error("0A000", "DSQL LOCAL and AWS IAM commands must be sent alone"));
    return true;
  }

  std::string rewritten;
  std::size_t copied = 0;
  bool changed = false;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const statement_class& c = classes[i];
    std::optional<wire::error_info> raise;
    if (c.kind == statement_kind::refused) {
      raise = c.error;
    } else if (ctx_.faults.fail_statement > 0 && txn_status_ != 'E' && !c.transaction_control() &&
               c.kind != statement_kind::empty) {
      --ctx_.faults.fail_statement;
      ctx_.log(tag() + "injected OC001");
      raise = error("40001", std::string(oc001));
    }
    if (!raise) continue;
    rewritten.append(*sql, copied, spans[i].begin - copied);
    rewritten += raise_statement(*raise);
    copied = spans[i].end;
    changed = true;
    break;  // PostgreSQL stops at the first error of a multi-statement query
  }
  ++outstanding_;
  if (!changed) {
    send_backend(wire::frame(m.type, m.body));
  } else {
    rewritten.append(*sql, copied, std::string::npos);
    send_backend(wire::build_query(rewritten));
  }
  return true;
}

void session::on_parse(wire::message& m) {
  auto p = wire::parse_parse(m.body);
  if (!p) return send_backend(wire::frame(m.type, m.body));
  const statement_class c = classify_statement(p->query);
  std::optional<wire::error_info> raise;
  if (c.kind == statement_kind::refused) {
    raise = c.error;
  } else if (c.front_command()) {
    raise = error("0A000", "DSQL LOCAL and AWS IAM commands must be sent as simple queries");
  } else if (ctx_.faults.fail_statement > 0 && txn_status_ != 'E' && p->statement.empty() &&
             !c.transaction_control() && c.kind != statement_kind::empty) {
    // Only unnamed statements: a named one would keep failing every time the driver reuses it.
    --ctx_.faults.fail_statement;
    ctx_.log(tag() + "injected OC001");
    raise = error("40001", std::string(oc001));
  }
  if (!raise) return send_backend(wire::frame(m.type, m.body));
  // PostgreSQL raises at Execute; its extended-protocol error handling (skip to Sync) stays right.
  p->query = raise_statement(*raise, parse_parameter_count(p->query, p->rest));
  send_backend(wire::build_parse(*p));
}

bool session::run_front_command(const statement_class& c) {
  switch (c.kind) {
    case statement_kind::fail_next_commit:
      ctx_.faults.fail_commit += c.times;
      ctx_.log(tag() + "armed OC000 for the next " + std::to_string(c.times) + " COMMIT(s)");
      front_reply("DSQL LOCAL");
      return true;
    case statement_kind::fail_next_statement:
      ctx_.faults.fail_statement += c.times;
      ctx_.log(tag() + "armed OC001 for the next " + std::to_string(c.times) + " statement(s)");
      front_reply("DSQL LOCAL");
      return true;
    case statement_kind::reset_faults:
      ctx_.faults = {};
      front_reply("DSQL LOCAL");
      return true;
    case statement_kind::iam_grant:
    case statement_kind::iam_revoke: {
      const bool grant = c.kind == statement_kind::iam_grant;
      if (user_ != "admin") {
        forward_raise(error("42501", std::string("permission denied to ") +
                                         (grant ? "grant" : "revoke") + " IAM trust with role " +
                                         c.role));
        return true;
      }
      if (!valid_iam_arn(c.arn)) {
        forward_raise(error("22023", "IAM role must look like an IAM ARN"));
        return true;
      }
      paused_ = true;
      auto self = shared_from_this();
      auto done = [self, grant,
                   guard = asio::make_work_guard(ctx_.io)](std::optional<wire::error_info> result) {
        asio::post(self->ctx_.io, [self, grant, result] {
          if (self->phase_ == phase::closed) return;
          if (result) {
            self->forward_raise(*result);
          } else {
            self->front_reply(grant ? "AWS IAM GRANT" : "AWS IAM REVOKE");
          }
          self->resume_client();
        });
      };
      if (grant) {
        ctx_.bookkeeping.grant(c.role, c.arn, user_, std::move(done));
      } else {
        ctx_.bookkeeping.revoke(c.role, c.arn, std::move(done));
      }
      return false;
    }
    default:
      forward_raise(error("0A000", "unsupported front command"));
      return true;
  }
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
