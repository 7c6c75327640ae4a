// dsql local's TLS front on the wire: raw PostgreSQL protocol 3.0 over TCP and OpenSSL, so that
// each test controls exactly which bytes the front sees (direct TLS with and without ALPN, the
// SSLRequest preamble, plaintext, garbage, oversized passwords, stalls), plus cancel requests and
// transaction rules through libpq. The whole suite shares one endpoint; every read is bounded by
// a deadline (non-blocking sockets and poll), so a misbehaving front fails a test, never hangs it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "local_endpoint.hpp"
#include "support/libpq.hpp"

namespace {

using dsql::test::local_endpoint;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint32_t protocol_3_0 = 196608;
constexpr std::uint32_t ssl_request_code = 80877103;
constexpr std::uint32_t gssenc_request_code = 80877104;
constexpr auto io_timeout = 15s;  // default bound for one exchange

// ---- bytes ----------------------------------------------------------------------------------

void put_u32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

std::uint32_t get_u32(const std::string& s, std::size_t at) {
  const auto b = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s.at(at + i)));
  };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

std::uint16_t get_u16(const std::string& s, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(s.at(at)) << 8) |
                                    static_cast<unsigned char>(s.at(at + 1)));
}

// An 8-byte preamble packet (SSLRequest, GSSENCRequest).
std::string preamble(std::uint32_t code) {
  std::string out;
  put_u32(out, 8);
  put_u32(out, code);
  return out;
}

std::string startup_message(const std::string& user, const std::string& database) {
  std::string body;
  put_u32(body, protocol_3_0);
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"user", user}, {"database", database}}) {
    body += k;
    body.push_back('\0');
    body += v;
    body.push_back('\0');
  }
  body.push_back('\0');
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(body.size() + 4));
  return out + body;
}

std::string frame(char type, const std::string& body) {
  std::string out(1, type);
  put_u32(out, static_cast<std::uint32_t>(body.size() + 4));
  return out + body;
}

std::string password_message(const std::string& password) {
  return frame('p', password + std::string(1, '\0'));
}

std::string query_message(const std::string& sql) {
  return frame('Q', sql + std::string(1, '\0'));
}

// ---- connections ----------------------------------------------------------------------------

enum class io_status { ok, closed, timeout, error };

const char* to_string(io_status s) {
  switch (s) {
    case io_status::ok:
      return "ok";
    case io_status::closed:
      return "closed";
    case io_status::timeout:
      return "timeout";
    case io_status::error:
      return "error";
  }
  return "?";
}

// One client connection: a non-blocking TCP socket, optionally with TLS on top.
struct connection {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  std::string in;      // bytes read but not consumed yet
  std::string detail;  // why the last operation failed

  connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() {
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};

int remaining_ms(clock_type::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_fd(int fd, short events, clock_type::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // let the next I/O call report the error
  }
}

std::unique_ptr<connection> tcp_connect(std::uint16_t port) {
  auto c = std::make_unique<connection>();
  c->fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(c->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
  const int one = 1;
  ::setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(c->fd, F_SETFL, ::fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  return c;
}

std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// Waits as an SSL call asks (WANT_READ / WANT_WRITE). Returns false on timeout or a real error,
// with c.detail and *status set.
bool ssl_wait(connection& c, int ret, clock_type::time_point deadline, io_status* status) {
  const int err = SSL_get_error(c.ssl, ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    if (wait_fd(c.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return true;
    *status = io_status::timeout;
    c.detail = "timed out";
    return false;
  }
  const int saved_errno = errno;
  const unsigned long top = ERR_peek_error();
  if (err == SSL_ERROR_ZERO_RETURN ||
      (err == SSL_ERROR_SYSCALL &&
       (saved_errno == 0 || saved_errno == ECONNRESET || saved_errno == EPIPE)) ||
      (err == SSL_ERROR_SSL && ERR_GET_REASON(top) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    *status = io_status::closed;
    c.detail = "peer closed the connection (SSL error " + std::to_string(err) + ", errno " +
               std::to_string(saved_errno) + ")";
    ERR_clear_error();
    return false;
  }
  *status = io_status::error;
  c.detail = "SSL error " + std::to_string(err) + " errno " + std::to_string(saved_errno) + ": " +
             ssl_errors();
  return false;
}

struct tls_result {
  bool ok = false;
  std::string error;
};

// TLS client over an open connection: trusts only the endpoint's CA, sends SNI "localhost",
// checks the certificate against "localhost", and offers ALPN "postgresql" when asked to.
tls_result start_tls(connection& c, const std::string& ca_file, bool alpn,
                     clock_type::time_point deadline) {
  tls_result r;
  c.ctx = SSL_CTX_new(TLS_client_method());
  if (!c.ctx) return {false, "SSL_CTX_new: " + ssl_errors()};
  SSL_CTX_set_min_proto_version(c.ctx, TLS1_2_VERSION);
  if (SSL_CTX_load_verify_locations(c.ctx, ca_file.c_str(), nullptr) != 1) {
    return {false, "cannot load " + ca_file + ": " + ssl_errors()};
  }
  SSL_CTX_set_verify(c.ctx, SSL_VERIFY_PEER, nullptr);
  c.ssl = SSL_new(c.ctx);
  SSL_set_fd(c.ssl, c.fd);
  SSL_set_tlsext_host_name(c.ssl, "localhost");
  SSL_set1_host(c.ssl, "localhost");
  if (alpn) {
    static const unsigned char protos[] = {10, 'p', 'o', 's', 't', 'g', 'r', 'e', 's', 'q', 'l'};
    SSL_set_alpn_protos(c.ssl, protos, sizeof protos);
  }
  for (;;) {
    const int ret = SSL_connect(c.ssl);
    if (ret == 1) break;
    io_status st = io_status::ok;
    if (!ssl_wait(c, ret, deadline, &st)) return {false, "TLS handshake: " + c.detail};
  }
  r.ok = true;
  return r;
}

io_status write_all(connection& c, const std::string& data,
                    clock_type::time_point deadline = clock_type::now() + io_timeout) {
  std::size_t done = 0;
  while (done < data.size()) {
    if (c.ssl) {
      const int ret = SSL_write(c.ssl, data.data() + done, static_cast<int>(data.size() - done));
      if (ret > 0) {
        done += static_cast<std::size_t>(ret);
        continue;
      }
      io_status st = io_status::ok;
      if (!ssl_wait(c, ret, deadline, &st)) return st;
    } else {
      const ssize_t n = ::send(c.fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!wait_fd(c.fd, POLLOUT, deadline)) {
          c.detail = "timed out writing";
          return io_status::timeout;
        }
        continue;
      }
      c.detail = std::string("send: ") + std::strerror(errno);
      return errno == EPIPE || errno == ECONNRESET ? io_status::closed : io_status::error;
    }
  }
  return io_status::ok;
}

// Reads more bytes into c.in.
io_status fill(connection& c, clock_type::time_point deadline) {
  char buf[16384];
  for (;;) {
    if (c.ssl) {
      const int ret = SSL_read(c.ssl, buf, sizeof buf);
      if (ret > 0) {
        c.in.append(buf, static_cast<std::size_t>(ret));
        return io_status::ok;
      }
      io_status st = io_status::ok;
      if (!ssl_wait(c, ret, deadline, &st)) return st;
    } else {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        return io_status::ok;
      }
      if (n == 0) {
        c.detail = "peer closed the connection";
        return io_status::closed;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        if (!wait_fd(c.fd, POLLIN, deadline)) {
          c.detail = "timed out";
          return io_status::timeout;
        }
        continue;
      }
      c.detail = std::string("recv: ") + std::strerror(errno);
      return errno == ECONNRESET ? io_status::closed : io_status::error;
    }
  }
}

io_status read_exact(connection& c, std::size_t n, std::string& out,
                     clock_type::time_point deadline) {
  while (c.in.size() < n) {
    const io_status st = fill(c, deadline);
    if (st != io_status::ok) return st;
  }
  out = c.in.substr(0, n);
  c.in.erase(0, n);
  return io_status::ok;
}

struct backend_message {
  io_status status = io_status::ok;
  char type = 0;
  std::string body;
};

backend_message read_message(connection& c,
                             clock_type::time_point deadline = clock_type::now() + io_timeout) {
  backend_message m;
  std::string header;
  m.status = read_exact(c, 5, header, deadline);
  if (m.status != io_status::ok) return m;
  m.type = header[0];
  const std::uint32_t length = get_u32(header, 1);
  if (length < 4 || length > 64 * 1024 * 1024) {
    m.status = io_status::error;
    c.detail = "bad message length " + std::to_string(length);
    return m;
  }
  m.status = read_exact(c, length - 4, m.body, deadline);
  return m;
}

// Waits until the server closes the connection, discarding whatever it sends first.
io_status wait_closed(connection& c, clock_type::time_point deadline) {
  for (;;) {
    c.in.clear();
    const io_status st = fill(c, deadline);
    if (st != io_status::ok) return st;
  }
}

using error_fields = std::map<char, std::string>;

error_fields parse_error(const std::string& body) {
  error_fields out;
  std::size_t i = 0;
  while (i < body.size() && body[i] != '\0') {
    const char code = body[i++];
    const std::size_t end = body.find('\0', i);
    if (end == std::string::npos) break;
    out[code] = body.substr(i, end - i);
    i = end + 1;
  }
  return out;
}

std::string describe(const backend_message& m) {
  if (m.status != io_status::ok) return std::string("<") + to_string(m.status) + ">";
  std::string s(1, m.type);
  if (m.type == 'E' || m.type == 'N') {
    for (const auto& [k, v] : parse_error(m.body)) s += std::string(" ") + k + "=" + v;
  }
  return s;
}

// DataRow columns (nullopt for NULL).
std::vector<std::optional<std::string>> data_row(const std::string& body) {
  std::vector<std::optional<std::string>> cols;
  const std::uint16_t n = get_u16(body, 0);
  std::size_t at = 2;
  for (std::uint16_t i = 0; i < n; ++i) {
    const std::uint32_t len = get_u32(body, at);
    at += 4;
    if (len == 0xffffffffu) {
      cols.emplace_back(std::nullopt);
      continue;
    }
    cols.emplace_back(body.substr(at, len));
    at += len;
  }
  return cols;
}

// Reads messages up to and including ReadyForQuery (or a failure, which ends the list).
std::vector<backend_message> read_until_ready(connection& c) {
  std::vector<backend_message> out;
  const auto deadline = clock_type::now() + io_timeout;
  for (;;) {
    out.push_back(read_message(c, deadline));
    const auto& m = out.back();
    if (m.status != io_status::ok || m.type == 'Z') return out;
  }
}

std::string describe(const std::vector<backend_message>& ms) {
  std::string s;
  for (const auto& m : ms) s += describe(m) + "\n";
  return s;
}

// ---- libpq ----------------------------------------------------------------------------------

using dsql::test::pgconn_ptr;
using dsql::test::pq_connect;
using pgresult_ptr = std::unique_ptr<PGresult, decltype(&PQclear)>;

pgresult_ptr exec(PGconn* conn, const std::string& sql) {
  return pgresult_ptr(PQexec(conn, sql.c_str()), PQclear);
}

std::string sqlstate(const PGresult* res) {
  const char* s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  return s ? s : "";
}

std::string primary_message(const PGresult* res) {
  const char* s = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  return s ? s : "";
}

// The single value of a one-row query, or "<error: ...>" so that assertions show what happened.
std::string query_value(PGconn* conn, const std::string& sql) {
  auto res = exec(conn, sql);
  if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
    return std::string("<error: ") + PQerrorMessage(conn) + ">";
  }
  if (PQntuples(res.get()) < 1) return "<no rows>";
  return PQgetvalue(res.get(), 0, 0);
}

// ---- suite ----------------------------------------------------------------------------------

class LocalWire : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);  // SSL_write to a closed socket must fail, not kill the test
    try {
      ep_ = std::make_unique<local_endpoint>();
    } catch (const std::exception& e) {
      setup_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    ep_.reset();
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << "dsql local did not start: " << *setup_error_;
    ASSERT_TRUE(ep_ && ep_->running());
  }

  static local_endpoint& ep() { return *ep_; }
  static std::string token() { return ep_->token("admin", "localhost"); }

  // A TCP connection with TLS started directly (no SSLRequest).
  static std::unique_ptr<connection> direct_tls(bool alpn) {
    auto c = tcp_connect(ep_->port());
    const auto r = start_tls(*c, ep_->ca_file(), alpn, clock_type::now() + io_timeout);
    if (!r.ok) throw std::runtime_error(r.error);
    return c;
  }

  // The endpoint process is alive and a normal libpq connection still works.
  static void expect_still_serving() {
    int status = 0;
    EXPECT_FALSE(ep_->wait_for_exit(0ms, status)) << "dsql local exited, status " << status << "\n"
                                                  << ep_->output();
    auto conn = pq_connect(ep_->libpq_params());
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    EXPECT_EQ(query_value(conn.get(), "SELECT 1"), "1");
  }

  // StartupMessage then the password; asserts the whole exchange up to ReadyForQuery.
  static void authenticate(connection& c, std::vector<backend_message>* seen = nullptr) {
    ASSERT_EQ(write_all(c, startup_message("admin", "postgres")), io_status::ok) << c.detail;
    const auto auth = read_message(c);
    ASSERT_EQ(auth.status, io_status::ok) << c.detail;
    ASSERT_EQ(auth.type, 'R') << describe(auth);
    ASSERT_EQ(auth.body.size(), 4u);
    ASSERT_EQ(get_u32(auth.body, 0), 3u) << "expected AuthenticationCleartextPassword";

    ASSERT_EQ(write_all(c, password_message(token())), io_status::ok) << c.detail;
    const auto ms = read_until_ready(c);
    ASSERT_FALSE(ms.empty());
    ASSERT_EQ(ms.back().status, io_status::ok) << c.detail << "\n" << describe(ms);
    ASSERT_EQ(ms.back().type, 'Z') << describe(ms);
    ASSERT_EQ(ms.back().body, "I");
    ASSERT_EQ(ms.front().type, 'R') << describe(ms);
    ASSERT_EQ(ms.front().body.size(), 4u);
    EXPECT_EQ(get_u32(ms.front().body, 0), 0u) << "expected AuthenticationOk first";
    for (const auto& m : ms) EXPECT_NE(m.type, 'E') << describe(ms);
    if (seen) *seen = ms;
  }

  // Simple query "SELECT 1" answers one DataRow "1", CommandComplete "SELECT 1", ReadyForQuery.
  static void select_one(connection& c) {
    ASSERT_EQ(write_all(c, query_message("SELECT 1")), io_status::ok) << c.detail;
    const auto ms = read_until_ready(c);
    ASSERT_EQ(ms.back().status, io_status::ok) << c.detail << "\n" << describe(ms);
    std::vector<std::string> types;
    std::vector<std::optional<std::string>> row;
    std::string tag;
    for (const auto& m : ms) {
      types.emplace_back(1, m.type);
      if (m.type == 'D') row = data_row(m.body);
      if (m.type == 'C') tag = m.body.substr(0, m.body.find('\0'));
    }
    EXPECT_EQ(types, (std::vector<std::string>{"T", "D", "C", "Z"})) << describe(ms);
    ASSERT_EQ(row.size(), 1u) << describe(ms);
    EXPECT_EQ(row[0], std::optional<std::string>("1"));
    EXPECT_EQ(tag, "SELECT 1");
    EXPECT_EQ(ms.back().body, "I");
    write_all(c, frame('X', ""));
  }

  // The next message is a FATAL ErrorResponse with this SQLSTATE and message; then EOF.
  static void expect_fatal_then_close(connection& c, const std::string& code,
                                      const std::string& message) {
    const auto m = read_message(c);
    ASSERT_EQ(m.status, io_status::ok) << c.detail;
    ASSERT_EQ(m.type, 'E') << describe(m);
    const auto f = parse_error(m.body);
    EXPECT_EQ(f.count('S') ? f.at('S') : "", "FATAL") << describe(m);
    EXPECT_EQ(f.count('V') ? f.at('V') : "", "FATAL") << describe(m);
    EXPECT_EQ(f.count('C') ? f.at('C') : "", code) << describe(m);
    EXPECT_EQ(f.count('M') ? f.at('M') : "", message) << describe(m);
    EXPECT_EQ(wait_closed(c, clock_type::now() + io_timeout), io_status::closed) << c.detail;
  }

  static std::unique_ptr<local_endpoint> ep_;
  static std::string* setup_error_;
};

std::unique_ptr<local_endpoint> LocalWire::ep_;
std::string* LocalWire::setup_error_ = nullptr;

// 1. Direct TLS (PostgreSQL 17's sslnegotiation=direct): the first bytes are a ClientHello with
// ALPN "postgresql"; the front selects it, presents a certificate for localhost signed by the
// local CA, asks for a cleartext password, accepts a valid token and relays queries.
TEST_F(LocalWire, DirectTlsWithAlpnAuthenticatesAndQueries) {
  auto c = tcp_connect(ep().port());
  const auto r = start_tls(*c, ep().ca_file(), /*alpn=*/true, clock_type::now() + io_timeout);
  ASSERT_TRUE(r.ok) << r.error;

  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(alpn), alpn_len), "postgresql");
  EXPECT_EQ(SSL_get_verify_result(c->ssl), X509_V_OK);
  X509* peer = SSL_get1_peer_certificate(c->ssl);
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(X509_check_host(peer, "localhost", 0, 0, nullptr), 1);
  X509_free(peer);
  EXPECT_GE(SSL_version(c->ssl), TLS1_2_VERSION);

  std::vector<backend_message> seen;
  ASSERT_NO_FATAL_FAILURE(authenticate(*c, &seen));
  // The front's own BackendKeyData and the DSQL-shaped server_version reach the client.
  bool key_data = false;
  std::string server_version;
  for (const auto& m : seen) {
    if (m.type == 'K') key_data = m.body.size() == 8;
    if (m.type == 'S') {
      const auto name = m.body.substr(0, m.body.find('\0'));
      if (name == "server_version") {
        const auto rest = m.body.substr(name.size() + 1);
        server_version = rest.substr(0, rest.find('\0'));
      }
    }
  }
  EXPECT_TRUE(key_data) << describe(seen);
  EXPECT_EQ(server_version, "16.15");
  ASSERT_NO_FATAL_FAILURE(select_one(*c));
}

// 2. Direct TLS without ALPN: the handshake completes (no ALPN selected) and the front then
// refuses inside TLS with PostgreSQL 17's FATAL 08P01, and closes.
TEST_F(LocalWire, DirectTlsWithoutAlpnIsRefused) {
  auto c = direct_tls(/*alpn=*/false);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
  EXPECT_EQ(alpn_len, 0u);
  // The front refuses before reading anything; a StartupMessage sent anyway changes nothing.
  write_all(*c, startup_message("admin", "postgres"));
  expect_fatal_then_close(
      *c, "08P01",
      "received direct SSL connection request without ALPN protocol negotiation extension");
}

// 3. libpq's default negotiation: SSLRequest answered 'S', then TLS (ALPN not required on this
// path), then the same startup and authentication as direct TLS.
TEST_F(LocalWire, SslRequestPreambleThenTls) {
  auto c = tcp_connect(ep().port());
  ASSERT_EQ(write_all(*c, preamble(ssl_request_code)), io_status::ok) << c->detail;
  std::string answer;
  ASSERT_EQ(read_exact(*c, 1, answer, clock_type::now() + io_timeout), io_status::ok) << c->detail;
  ASSERT_EQ(answer, "S");
  ASSERT_TRUE(c->in.empty()) << "bytes after 'S' before the handshake";
  const auto r = start_tls(*c, ep().ca_file(), /*alpn=*/false, clock_type::now() + io_timeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(SSL_get_verify_result(c->ssl), X509_V_OK);
  ASSERT_NO_FATAL_FAILURE(authenticate(*c));
  ASSERT_NO_FATAL_FAILURE(select_one(*c));
}

// GSSENCRequest is answered 'N', and the client may then ask for TLS on the same connection.
TEST_F(LocalWire, GssEncRequestAnsweredNThenSslRequestWorks) {
  auto c = tcp_connect(ep().port());
  ASSERT_EQ(write_all(*c, preamble(gssenc_request_code)), io_status::ok) << c->detail;
  std::string answer;
  ASSERT_EQ(read_exact(*c, 1, answer, clock_type::now() + io_timeout), io_status::ok) << c->detail;
  ASSERT_EQ(answer, "N");
  ASSERT_EQ(write_all(*c, preamble(ssl_request_code)), io_status::ok) << c->detail;
  ASSERT_EQ(read_exact(*c, 1, answer, clock_type::now() + io_timeout), io_status::ok) << c->detail;
  ASSERT_EQ(answer, "S");
  const auto r = start_tls(*c, ep().ca_file(), /*alpn=*/true, clock_type::now() + io_timeout);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_NO_FATAL_FAILURE(authenticate(*c));
  ASSERT_NO_FATAL_FAILURE(select_one(*c));
}

// 4. A plaintext StartupMessage is refused in plaintext: FATAL 28000, then the front closes.
TEST_F(LocalWire, PlaintextStartupIsRefused) {
  auto c = tcp_connect(ep().port());
  ASSERT_EQ(write_all(*c, startup_message("admin", "postgres")), io_status::ok) << c->detail;
  expect_fatal_then_close(*c, "28000", "unable to accept connection, ssl is required");
}

// 5. Garbage instead of a startup packet. The first 8 bytes of an HTTP request read as a length
// of ~1.2 GB: exactly those 8 bytes get FATAL 08P01 "invalid length of startup packet". A whole
// HTTP request (bytes left unread when the front closes) may instead end in a reset: either way
// the connection ends. A well-sized packet with an unknown protocol number gets PostgreSQL's
// FATAL 0A000 "unsupported frontend protocol". The endpoint keeps serving throughout.
TEST_F(LocalWire, GarbageIsRefusedAndServerKeepsServing) {
  {
    auto c = tcp_connect(ep().port());
    ASSERT_EQ(write_all(*c, "GET / HT"), io_status::ok) << c->detail;
    expect_fatal_then_close(*c, "08P01", "invalid length of startup packet");
  }
  {
    auto c = tcp_connect(ep().port());
    ASSERT_EQ(write_all(*c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), io_status::ok)
        << c->detail;
    const auto m = read_message(*c);
    if (m.status == io_status::ok) {
      ASSERT_EQ(m.type, 'E') << describe(m);
      EXPECT_EQ(parse_error(m.body)['C'], "08P01") << describe(m);
      EXPECT_EQ(wait_closed(*c, clock_type::now() + io_timeout), io_status::closed) << c->detail;
    } else {
      EXPECT_EQ(m.status, io_status::closed) << c->detail;
    }
  }
  {
    // A well-sized packet with an unknown protocol code: PostgreSQL's own refusal.
    auto c = tcp_connect(ep().port());
    std::string bad;
    put_u32(bad, 16);
    put_u32(bad, 0x12345678);
    bad += std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    ASSERT_EQ(write_all(*c, bad), io_status::ok) << c->detail;
    const auto m = read_message(*c);
    ASSERT_EQ(m.status, io_status::ok) << c->detail;
    ASSERT_EQ(m.type, 'E') << describe(m);
    const auto f = parse_error(m.body);
    EXPECT_EQ(f.count('S') ? f.at('S') : "", "FATAL") << describe(m);
    EXPECT_EQ(f.count('C') ? f.at('C') : "", "0A000") << describe(m);
    EXPECT_EQ(f.count('M') ? f.at('M') : "",
              "unsupported frontend protocol 4660.22136: server supports 3.0 to 3.0")
        << describe(m);
    EXPECT_EQ(wait_closed(*c, clock_type::now() + io_timeout), io_status::closed) << c->detail;
  }
  expect_still_serving();
}

// 6a. An 8 KiB password that is not a token: read in full, then the clean token refusal.
TEST_F(LocalWire, LargeGarbagePasswordIsAccessDenied) {
  auto c = direct_tls(/*alpn=*/true);
  ASSERT_EQ(write_all(*c, startup_message("admin", "postgres")), io_status::ok) << c->detail;
  const auto auth = read_message(*c);
  ASSERT_EQ(auth.type, 'R') << describe(auth);
  ASSERT_EQ(get_u32(auth.body, 0), 3u);
  ASSERT_EQ(write_all(*c, password_message(std::string(8 * 1024, 'x'))), io_status::ok)
      << c->detail;
  expect_fatal_then_close(*c, "28000", "unable to accept connection, access denied");
  expect_still_serving();
}

// 6b. A PasswordMessage announcing 1 MiB (over the 64 KiB cap) is refused from its header alone:
// FATAL 08P01 "invalid password packet size", and the front does not wait for the body. Only the
// 5-byte header is sent so that no unread bytes turn the front's close into a reset.
TEST_F(LocalWire, OversizedPasswordIsRefusedFromItsHeader) {
  auto c = direct_tls(/*alpn=*/true);
  ASSERT_EQ(write_all(*c, startup_message("admin", "postgres")), io_status::ok) << c->detail;
  const auto auth = read_message(*c);
  ASSERT_EQ(auth.type, 'R') << describe(auth);
  ASSERT_EQ(get_u32(auth.body, 0), 3u);
  std::string header(1, 'p');
  put_u32(header, 1024 * 1024 + 4);
  ASSERT_EQ(write_all(*c, header), io_status::ok) << c->detail;
  expect_fatal_then_close(*c, "08P01", "invalid password packet size");
  expect_still_serving();
}

// 6c. The same 1 MiB password sent in full: the client may see the error or a reset (its bytes
// are still arriving when the front closes); it must not be accepted, and nothing crashes.
TEST_F(LocalWire, OversizedPasswordSentInFullEndsTheConnection) {
  auto c = direct_tls(/*alpn=*/true);
  ASSERT_EQ(write_all(*c, startup_message("admin", "postgres")), io_status::ok) << c->detail;
  const auto auth = read_message(*c);
  ASSERT_EQ(auth.type, 'R') << describe(auth);
  const io_status w = write_all(*c, password_message(std::string(1024 * 1024, 'y')));
  EXPECT_TRUE(w == io_status::ok || w == io_status::closed) << to_string(w) << " " << c->detail;
  const auto m = read_message(*c);
  if (m.status == io_status::ok) {
    ASSERT_EQ(m.type, 'E') << describe(m);
    const auto f = parse_error(m.body);
    EXPECT_EQ(f.count('C') ? f.at('C') : "", "08P01") << describe(m);
    EXPECT_EQ(f.count('M') ? f.at('M') : "", "invalid password packet size") << describe(m);
  } else {
    EXPECT_EQ(m.status, io_status::closed) << c->detail;
  }
  expect_still_serving();
}

// 7. Clients that stall before authenticating are dropped after the startup timeout (10 s by
// default): one that sends nothing at all, and one that completes TLS but sends no
// StartupMessage. Both see EOF; not immediately, and well within 30 s.
TEST_F(LocalWire, StalledClientsAreDropped) {
  const auto start = clock_type::now();
  auto plain = tcp_connect(ep().port());
  auto tls = direct_tls(/*alpn=*/true);
  const auto deadline = start + 30s;
  EXPECT_EQ(wait_closed(*plain, deadline), io_status::closed) << plain->detail;
  const auto plain_elapsed = clock_type::now() - start;
  EXPECT_EQ(wait_closed(*tls, deadline), io_status::closed) << tls->detail;
  const auto tls_elapsed = clock_type::now() - start;
  EXPECT_GE(plain_elapsed, 5s);
  EXPECT_GE(tls_elapsed, 5s);
  EXPECT_LT(tls_elapsed, 30s);
  expect_still_serving();
}

// 8. Cancel: libpq's PQcancel sends a CancelRequest on a new plaintext connection with the keys
// the front issued; the front forwards it to PostgreSQL and the running query fails with 57014.
TEST_F(LocalWire, CancelRequestCancelsRunningQuery) {
  auto conn = pq_connect(ep().libpq_params());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  auto watcher = pq_connect(ep().libpq_params());
  ASSERT_EQ(PQstatus(watcher.get()), CONNECTION_OK) << PQerrorMessage(watcher.get());

  const auto start = clock_type::now();
  ASSERT_EQ(PQsendQuery(conn.get(), "SELECT pg_sleep(30) /* wire-cancel */"), 1)
      << PQerrorMessage(conn.get());
  // Cancel only once the backend is really running it (a cancel of an idle backend is a no-op).
  bool running = false;
  for (int i = 0; i < 100 && !running; ++i) {
    running = query_value(watcher.get(),
                          "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND "
                          "query LIKE 'SELECT pg_sleep(30) /* wire-cancel */%'") == "1";
    if (!running) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(running) << "the query never showed up as active";

  std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> cancel(PQgetCancel(conn.get()), PQfreeCancel);
  ASSERT_NE(cancel, nullptr);
  char errbuf[256] = {0};
  ASSERT_EQ(PQcancel(cancel.get(), errbuf, sizeof errbuf), 1) << errbuf;

  // Wait (bounded) for the result without blocking in libpq.
  const int sock = PQsocket(conn.get());
  const auto deadline = start + 20s;
  while (PQisBusy(conn.get())) {
    ASSERT_TRUE(wait_fd(sock, POLLIN, deadline)) << "no answer 20 s after the cancel";
    ASSERT_EQ(PQconsumeInput(conn.get()), 1) << PQerrorMessage(conn.get());
  }
  pgresult_ptr res(PQgetResult(conn.get()), PQclear);
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(PQresultStatus(res.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(sqlstate(res.get()), "57014") << PQresultErrorMessage(res.get());
  EXPECT_LT(clock_type::now() - start, 20s);
  while (PGresult* rest = PQgetResult(conn.get())) PQclear(rest);

  // The connection survives the cancel.
  EXPECT_EQ(query_value(conn.get(), "SELECT 1"), "1");
}

// 9. Transaction rules: only repeatable read; no savepoints (the transaction is then aborted).
TEST_F(LocalWire, TransactionRules) {
  auto conn = pq_connect(ep().libpq_params());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());

  EXPECT_EQ(query_value(conn.get(), "SHOW transaction_isolation"), "repeatable read");

  {
    auto res = exec(conn.get(), "BEGIN ISOLATION LEVEL SERIALIZABLE");
    EXPECT_EQ(PQresultStatus(res.get()), PGRES_FATAL_ERROR);
    EXPECT_EQ(sqlstate(res.get()), "0A000") << PQresultErrorMessage(res.get());
    EXPECT_EQ(primary_message(res.get()), "Unsupported isolation level: SERIALIZABLE");
    EXPECT_EQ(PQtransactionStatus(conn.get()), PQTRANS_IDLE);
  }

  {
    auto begin = exec(conn.get(), "BEGIN");
    ASSERT_EQ(PQresultStatus(begin.get()), PGRES_COMMAND_OK) << PQerrorMessage(conn.get());
    EXPECT_EQ(query_value(conn.get(), "SHOW transaction_isolation"), "repeatable read");
    auto sp = exec(conn.get(), "SAVEPOINT s");
    EXPECT_EQ(PQresultStatus(sp.get()), PGRES_FATAL_ERROR);
    EXPECT_EQ(sqlstate(sp.get()), "0A000") << PQresultErrorMessage(sp.get());
    EXPECT_EQ(primary_message(sp.get()), "unsupported transaction statement: SAVEPOINT");
    EXPECT_EQ(PQtransactionStatus(conn.get()), PQTRANS_INERROR);
    auto next = exec(conn.get(), "SELECT 1");
    EXPECT_EQ(sqlstate(next.get()), "25P02") << PQresultErrorMessage(next.get());
    auto rollback = exec(conn.get(), "ROLLBACK");
    EXPECT_EQ(PQresultStatus(rollback.get()), PGRES_COMMAND_OK) << PQerrorMessage(conn.get());
    EXPECT_EQ(PQtransactionStatus(conn.get()), PQTRANS_IDLE);
  }

  {
    // REPEATABLE READ, the one level there is, is accepted explicitly.
    auto begin = exec(conn.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ");
    EXPECT_EQ(PQresultStatus(begin.get()), PGRES_COMMAND_OK) << PQerrorMessage(conn.get());
    auto rollback = exec(conn.get(), "ROLLBACK");
    EXPECT_EQ(PQresultStatus(rollback.get()), PGRES_COMMAND_OK) << PQerrorMessage(conn.get());
  }
  EXPECT_EQ(query_value(conn.get(), "SELECT 1"), "1");
}

}  // namespace
