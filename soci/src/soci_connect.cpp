#include <soci/postgresql/soci-postgresql.h>

#include <string_view>

#include "connect_report.hpp"
#include "dsql/soci.hpp"
#include "libpq_support.hpp"
#include "server_error.hpp"
#include "soci_token_factory.hpp"
#include "util/secret.hpp"

namespace dsql {
namespace detail {
using util::wipe;

soci_token_factory::soci_token_factory(std::shared_ptr<connector> source)
    : source_(std::move(source)) {
  if (!source_) throw config_error("soci_connect needs a connector, got a null pointer");
  conninfo_ = conninfo_string(source_->libpq_parameters());
  on_notice_ = source_->settings().source.on_notice;
}

::soci::connection_parameters soci_token_factory::parameters() const {
  return ::soci::connection_parameters(*this, conninfo_);
}

::soci::details::session_backend* soci_token_factory::make_session(
    const ::soci::connection_parameters& parameters) const {
  std::unique_ptr<::soci::postgresql_session_backend> backend;
  connect_report report(source_->settings());
  try {
    try {
      backend = open_backend(parameters, source_->token());
    } catch (const auth_error& e) {
      // As dsql::connect: an expired signature is worth one more try with a freshly signed
      // token; anything else would fail the same way again.
      if (!e.signature_expired()) throw;
      backend = open_backend(parameters, source_->fresh_token());
    }
  } catch (...) {
    report.failed(std::current_exception());
    throw;
  }
  report.succeeded();
  // The backend keeps its own copy of the parameters; keep the password-less one there.
  backend->connectionParameters_ = parameters;
  // libpq's default would print every notice on stderr, raw; the config decides instead.
  PQsetNoticeReceiver(backend->conn_, &deliver_notice, const_cast<notice_handler*>(&on_notice_));
  return backend.release();
}

std::unique_ptr<::soci::postgresql_session_backend> soci_token_factory::open_backend(
    const ::soci::connection_parameters& parameters, std::string token) const {
  std::string conninfo = parameters.get_connect_string();
  {
    std::string quoted = conninfo_quote(token);
    conninfo += " password=" + quoted;
    wipe(token);
    wipe(quoted);
  }
  ::soci::connection_parameters with_token(::soci::postgresql, conninfo);
  wipe(conninfo);
  struct wipe_on_exit {
    const ::soci::connection_parameters& p;
    ~wipe_on_exit() { wipe(const_cast<std::string&>(p.get_connect_string())); }
  } guard{with_token};
  try {
    // Through SOCI's exported factory function: Debian's build exports neither the backend's
    // classes nor their type information, only what it declares part of its interface.
    return std::unique_ptr<::soci::postgresql_session_backend>(
        static_cast<::soci::postgresql_session_backend*>(
            ::soci::factory_postgresql()->make_session(with_token)));
  } catch (const ::soci::postgresql_soci_error&) {
    // The login worked and a statement SOCI runs on every new session failed: a server error
    // with its SQLSTATE (an OCC conflict, say), not a failure to connect.
    throw;
  } catch (const ::soci::soci_error& e) {
    // SOCI prefixes libpq's message (which never repeats the password) with its own line.
    std::string message = e.what();
    constexpr std::string_view prefix = "Cannot establish connection to the database.\n";
    if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
    throw_connect_failure(message, source_->settings());
  }
}

std::unique_ptr<::soci::session> open_soci_session(const soci_token_factory& factory) {
  return std::make_unique<::soci::session>(factory.parameters());
}

PGconn* soci_libpq_handle(::soci::session& s) noexcept {
  // No dynamic_cast: the backend's type information is not exported (see make_session).
  ::soci::details::session_backend* backend = s.get_backend();
  if (backend == nullptr) return nullptr;
  try {
    if (backend->get_backend_name() != "postgresql") return nullptr;
  } catch (...) {
    return nullptr;
  }
  return static_cast<::soci::postgresql_session_backend*>(backend)->conn_;
}

bool soci_session_idle(::soci::session& s) noexcept {
  PGconn* c = soci_libpq_handle(s);
  return c != nullptr && PQstatus(c) == CONNECTION_OK &&
         transaction_status_of(c) == transaction_state::idle;
}

}  // namespace detail

soci_session::soci_session(std::shared_ptr<detail::soci_token_factory> factory,
                           std::unique_ptr<::soci::session> session) noexcept
    : factory_(std::move(factory)), session_(std::move(session)) {}

soci_session::~soci_session() = default;
soci_session::soci_session(soci_session&&) noexcept = default;

soci_session& soci_session::operator=(soci_session&& other) noexcept {
  if (this != &other) {
    // The session first: it points at its factory.
    session_ = std::move(other.session_);
    factory_ = std::move(other.factory_);
  }
  return *this;
}

::soci::session& soci_session::get() const {
  if (!session_) throw lease_error("this soci_session holds no session: it was moved from");
  return *session_;
}

soci_session soci_connect(std::shared_ptr<connector> source) {
  auto factory = std::make_shared<detail::soci_token_factory>(std::move(source));
  auto session = detail::open_soci_session(*factory);
  return soci_session(std::move(factory), std::move(session));
}

soci_session soci_connect(const config& cfg) {
  return soci_connect(std::make_shared<connector>(cfg));
}

}  // namespace dsql
