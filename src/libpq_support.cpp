#include "libpq_support.hpp"

#include "dsql/notice.hpp"
#include "util/printable.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>

namespace dsql::detail {

PGconn* start_libpq(const std::vector<std::pair<std::string, std::string>>& params,
                    const std::string& token) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back("password");
  values.push_back(token.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectStartParams(keys.data(), values.data(), 0);
  if (conn == nullptr) throw connection_error("libpq could not allocate a connection");
  PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
  return conn;
}

connection_error connect_timeout_error(const resolved_config& settings) {
  return connection_error("could not connect to " + util::printable(settings.target.host) + ":" +
                          std::to_string(settings.target.port) + ": timed out after " +
                          std::to_string(settings.connect_timeout.count()) +
                          " s (connect_timeout); check the endpoint, port and network");
}

// Anything that arrived unasked on an idle connection is a notice, a parameter change or the
// server's goodbye; reading it tells them apart, and the second round catches an EOF that
// followed a FATAL message.
namespace {

std::string field(const PGresult* res, int code) {
  const char* v = PQresultErrorField(res, code);
  return v != nullptr ? v : "";
}

}  // namespace

void deliver_notice(void* arg, const PGresult* res) {
  const auto* handler = static_cast<const notice_handler*>(arg);
  if (handler == nullptr || !*handler) return;
  try {
    (*handler)(notice{field(res, PG_DIAG_SEVERITY), field(res, PG_DIAG_SQLSTATE),
                      field(res, PG_DIAG_MESSAGE_PRIMARY), field(res, PG_DIAG_MESSAGE_DETAIL),
                      field(res, PG_DIAG_MESSAGE_HINT)});
  } catch (...) {
    // libpq is C: nothing may unwind through it.
  }
}

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

std::string conninfo_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out.push_back(' ');
    out += key + "=" + conninfo_quote(value);
  }
  return out;
}

bool idle_connection_alive(PGconn* c) {
  if (c == nullptr || PQstatus(c) != CONNECTION_OK) return false;
  for (int round = 0; round < 2; ++round) {
    const int fd = PQsocket(c);
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, 0);
    if (rc == 0) return true;
    if (rc < 0) return errno == EINTR;
    if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return false;
    if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) return false;
  }
  return PQstatus(c) == CONNECTION_OK;
}

}  // namespace dsql::detail
