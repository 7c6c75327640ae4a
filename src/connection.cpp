#include "dsql/connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

#include "connect_report.hpp"
#include "dsql/errors.hpp"
#include "libpq_support.hpp"
#include "server_error.hpp"
#include "util/printable.hpp"
#include "util/secret.hpp"

namespace dsql {
namespace {

using steady = std::chrono::steady_clock;

// Waits for libpq's socket; false when the deadline passed.
bool wait_socket(PGconn* conn, bool for_write, steady::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    if (left.count() <= 0) return false;
    pollfd pfd{PQsocket(conn), static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    const int rc = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return true;  // let PQconnectPoll report the socket error
  }
}

// Drops notices; what a connection gets without a handler, and before its handler is freed.
void drop_notice(void*, const PGresult*) {}

struct pgconn_deleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using pgconn_ptr = std::unique_ptr<PGconn, pgconn_deleter>;

// One connection attempt with our own deadline: libpq's connect_timeout is not applied in
// non-blocking mode.
pgconn_ptr open_libpq(const std::vector<std::pair<std::string, std::string>>& params,
                      const std::string& token, const resolved_config& settings) {
  pgconn_ptr conn(detail::start_libpq(params, token));
  const auto deadline = steady::now() + settings.connect_timeout;
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  if (PQstatus(conn.get()) == CONNECTION_BAD) state = PGRES_POLLING_FAILED;
  while (state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
    if (!wait_socket(conn.get(), state == PGRES_POLLING_WRITING, deadline)) {
      throw detail::connect_timeout_error(settings);
    }
    state = PQconnectPoll(conn.get());
  }
  if (state == PGRES_POLLING_FAILED) {
    detail::throw_connect_failure(PQerrorMessage(conn.get()), settings);
  }
  // Verbose errors were for diagnosing the login; from here on libpq's default is kinder to
  // whoever prints PQerrorMessage (no LOCATION lines).
  PQsetErrorVerbosity(conn.get(), PQERRORS_DEFAULT);
  return conn;
}

// open_libpq, reported (events and metrics). The token is never a field.
pgconn_ptr observed_open(const std::vector<std::pair<std::string, std::string>>& params,
                         const std::string& token, const resolved_config& settings) {
  detail::connect_report report(settings);
  try {
    pgconn_ptr conn = open_libpq(params, token, settings);
    report.succeeded();
    return conn;
  } catch (...) {
    report.failed(std::current_exception());
    throw;
  }
}

}  // namespace

// ---- connection ----

connection::~connection() {
  close();
}

connection::connection(connection&& other) noexcept
    : conn_(other.conn_), notices_(std::move(other.notices_)) {
  other.conn_ = nullptr;
}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    close();
    conn_ = other.conn_;
    notices_ = std::move(other.notices_);
    other.conn_ = nullptr;
  }
  return *this;
}

PGconn* connection::release() noexcept {
  // The handler dies with this object; the released handle must not point at it.
  if (conn_ != nullptr && notices_) PQsetNoticeReceiver(conn_, drop_notice, nullptr);
  notices_.reset();
  PGconn* c = conn_;
  conn_ = nullptr;
  return c;
}

void connection::set_notice_handler(notice_handler handler) {
  if (conn_ == nullptr) throw connection_error("set_notice_handler on a closed connection");
  auto next = std::make_unique<notice_handler>(std::move(handler));
  PQsetNoticeReceiver(conn_, detail::deliver_notice, next.get());
  notices_ = std::move(next);
}

bool connection::is_open() const noexcept {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

void connection::close() noexcept {
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  notices_.reset();
}

result connection::exec(std::string_view sql) {
  if (conn_ == nullptr) throw connection_error("exec on a closed connection");
  const std::string text(sql);
  result res(PQexec(conn_, text.c_str()));
  const auto status = res.raw() ? PQresultStatus(res.raw()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
    detail::throw_result_error(conn_, res.raw());
  }
  return res;
}

result connection::exec_params(std::string_view sql,
                               const std::vector<std::optional<std::string>>& params) {
  if (conn_ == nullptr) throw connection_error("exec_params on a closed connection");
  const std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  result res(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0));
  const auto status = res.raw() ? PQresultStatus(res.raw()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    detail::throw_result_error(conn_, res.raw());
  }
  return res;
}

transaction_state transaction_status_of(const PGconn* conn) noexcept {
  if (conn == nullptr) return transaction_state::unknown;
  switch (PQtransactionStatus(conn)) {
    case PQTRANS_IDLE:
      return transaction_state::idle;
    case PQTRANS_ACTIVE:
      return transaction_state::active;
    case PQTRANS_INTRANS:
      return transaction_state::in_transaction;
    case PQTRANS_INERROR:
      return transaction_state::failed;
    case PQTRANS_UNKNOWN:
      break;
  }
  return transaction_state::unknown;
}

transaction_state connection::transaction_status() const noexcept {
  return transaction_status_of(conn_);
}

bool connection::in_transaction() const noexcept {
  const transaction_state s = transaction_status();
  return s == transaction_state::in_transaction || s == transaction_state::failed ||
         s == transaction_state::active;
}

// ---- connector ----

struct connector::state {
  resolved_config settings;
  connector_options opts;
  clock_function clock;
  token_generator generator;
  std::vector<std::pair<std::string, std::string>> params;

  std::mutex token_mutex;  // single flight for token reuse
  std::string cached_token;
  std::chrono::system_clock::time_point cached_at{};

  state(const config& cfg, connector_options o, clock_function c)
      : settings(resolve(cfg)),
        opts(o),
        clock(c ? std::move(c) : clock_function(&std::chrono::system_clock::now)),
        generator(cfg.credentials ? cfg.credentials
                                  : default_credentials_chain(chain_options{
                                        cfg.profile, refresh_window(cfg.token_duration)}),
                  clock) {
    params = build_params();
  }

  ~state() { util::wipe(cached_token); }

  // Credentials must outlive every token signed from them, so refresh them that much earlier.
  static std::chrono::seconds refresh_window(std::chrono::seconds token_duration) {
    return std::max<std::chrono::seconds>(std::chrono::minutes(5),
                                          token_duration + std::chrono::seconds(60));
  }

  std::vector<std::pair<std::string, std::string>> build_params() const {
    const auto& s = settings;
    std::vector<std::pair<std::string, std::string>> p;
    p.emplace_back("host", s.target.host);
    if (!s.source.hostaddr.empty()) p.emplace_back("hostaddr", s.source.hostaddr);
    p.emplace_back("port", std::to_string(s.target.port));
    p.emplace_back("dbname", s.source.database);
    p.emplace_back("user", s.source.user);
    p.emplace_back("sslmode", s.source.sslmode);
    if (s.source.sslmode != "disable") p.emplace_back("sslrootcert", s.sslrootcert);
    // Direct TLS saves a round trip; libpq < 17 does not know the parameter.
    if (PQlibVersion() >= 170000 && s.source.sslmode != "disable" &&
        s.source.libpq_params.count("sslnegotiation") == 0) {
      p.emplace_back("sslnegotiation", "direct");
    }
    p.emplace_back("connect_timeout", std::to_string(s.connect_timeout.count()));
    p.emplace_back("application_name", s.application_name);
    for (const auto& kv : s.source.libpq_params) p.push_back(kv);
    return p;
  }

  token_request request() const {
    return token_request{settings.target.token_host, settings.target.region,
                         action_for_user(settings.source.user), settings.source.token_duration};
  }

  std::string fresh_token() {
    std::lock_guard<std::mutex> lock(token_mutex);
    util::wipe(cached_token);
    cached_token = generator.generate(request());
    cached_at = clock();
    return cached_token;
  }

  // Under token_mutex.
  bool cached_is_young(std::chrono::system_clock::time_point now) const {
    const auto max_age =
        std::chrono::duration<double>(settings.source.token_duration) * opts.token_reuse_fraction;
    return !cached_token.empty() && now >= cached_at && now - cached_at < max_age;
  }

  std::string token() {
    if (opts.token_reuse_fraction <= 0.0) return generator.generate(request());
    std::lock_guard<std::mutex> lock(token_mutex);
    const auto now = clock();
    if (!cached_is_young(now)) {
      util::wipe(cached_token);
      cached_token = generator.generate(request());
      cached_at = now;
    }
    return cached_token;
  }

  std::optional<std::string> reusable_token() {
    if (opts.token_reuse_fraction <= 0.0) return std::nullopt;
    std::lock_guard<std::mutex> lock(token_mutex);
    if (!cached_is_young(clock())) return std::nullopt;
    return cached_token;
  }
};

connector::connector(const config& cfg) : connector(cfg, connector_options{}) {}

connector::connector(const config& cfg, connector_options opts, clock_function clock) {
  if (opts.token_reuse_fraction < 0.0 || opts.token_reuse_fraction >= 1.0) {
    throw config_error("token_reuse_fraction must be at least 0 and below 1");
  }
  state_ = std::make_unique<state>(cfg, opts, std::move(clock));
}

connector::~connector() = default;
connector::connector(connector&& other) noexcept = default;
connector& connector::operator=(connector&& other) noexcept = default;

connector::state& connector::get() const {
  if (!state_) throw error("this dsql::connector was moved from; use the one it was moved to");
  return *state_;
}

const resolved_config& connector::settings() const {
  return get().settings;
}

const std::shared_ptr<credentials_provider>& connector::provider() const {
  return get().generator.provider();
}

std::string connector::token() {
  return get().token();
}

std::string connector::fresh_token() {
  return get().fresh_token();
}

std::optional<std::string> connector::reusable_token() {
  return get().reusable_token();
}

std::vector<std::pair<std::string, std::string>> connector::libpq_parameters() const {
  return get().params;
}

connection connector::connect() {
  state& st = get();
  // Tokens are wiped from memory as soon as libpq has them, whatever happens.
  auto with_notices = [&st](pgconn_ptr raw) {
    connection c(raw.release());
    c.set_notice_handler(st.settings.source.on_notice);
    return c;
  };
  try {
    util::secret tok{st.token()};
    return with_notices(observed_open(st.params, tok.value, st.settings));
  } catch (const auth_error& e) {
    // An expired signature is worth one more try with a freshly signed token; anything else
    // would fail the same way again.
    if (!e.signature_expired()) throw;
  }
  util::secret tok{st.fresh_token()};
  return with_notices(observed_open(st.params, tok.value, st.settings));
}

connection connect(const config& cfg) {
  return connector(cfg).connect();
}

connection connect(std::string_view host_or_uri) {
  return connect(config_from_string(host_or_uri));
}

}  // namespace dsql
