#include "connect_report.hpp"
#include "dsql/pqxx.hpp"
#include "libpq_support.hpp"
#include "server_error.hpp"
#include "util/secret.hpp"

namespace dsql {

std::unique_ptr<pqxx::connection> pqxx_connect(connector& source) {
  // The conninfo holds the token: it is wiped as soon as libpqxx has connected, and never
  // appears in an exception (libpq's messages do not repeat the password).
  util::secret conninfo{detail::conninfo_string(source.libpq_parameters())};
  {
    const util::secret token{source.token()};
    const util::secret quoted{detail::conninfo_quote(token.value)};
    conninfo.value += " password=" + quoted.value;
  }
  std::unique_ptr<pqxx::connection> conn;
  detail::connect_report report(source.settings());
  try {
    try {
      conn = std::make_unique<pqxx::connection>(conninfo.value);
    } catch (const pqxx::broken_connection& e) {
      // Same classification as dsql::connect: a refused login becomes auth_error with a
      // diagnosis.
      detail::throw_connect_failure(e.what(), source.settings());
    }
  } catch (...) {
    report.failed(std::current_exception());
    throw;
  }
  report.succeeded();
#if PQXX_VERSION_MAJOR < 7
  // libpqxx 6 silently reconnects a broken connection with its original conninfo, whose token
  // has expired by then (and reconnecting loses session state anyway). libpqxx 7 never does.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
#endif
  return conn;
}

std::unique_ptr<pqxx::connection> pqxx_connect(const config& cfg) {
  connector source(cfg);
  return pqxx_connect(source);
}

}  // namespace dsql
