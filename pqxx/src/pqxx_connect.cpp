#include <openssl/crypto.h>

#include "dsql/pqxx.hpp"
#include "server_error.hpp"

namespace dsql {
namespace detail {

std::string conninfo_quote(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('\'');
  for (const char ch : value) {
    if (ch == '\\' || ch == '\'') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('\'');
  return out;
}

}  // namespace detail

std::unique_ptr<pqxx::connection> pqxx_connect(connector& source) {
  // The conninfo holds the token: it is wiped as soon as libpqxx has connected, and never
  // appears in an exception (libpq's messages do not repeat the password).
  struct wiped {
    std::string value;
    ~wiped() { OPENSSL_cleanse(value.data(), value.size()); }
  };
  wiped conninfo;
  for (const auto& [key, value] : source.libpq_parameters()) {
    conninfo.value += key + "=" + detail::conninfo_quote(value) + " ";
  }
  {
    wiped token{source.token()};
    wiped quoted{detail::conninfo_quote(token.value)};
    conninfo.value += "password=" + quoted.value;
  }
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(conninfo.value);
  } catch (const pqxx::broken_connection& e) {
    // Same classification as dsql::connect: a refused login becomes auth_error with a diagnosis.
    detail::throw_connect_failure(e.what(), source.settings());
  }
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
