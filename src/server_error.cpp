#include "server_error.hpp"

#include <libpq-fe.h>

#include <sstream>

#include "util/printable.hpp"

namespace dsql::detail {
namespace {

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool is_sqlstate(const std::string& s) {
  if (s.size() != 5) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

std::string field(PGresult* res, int code) {
  const char* v = PQresultErrorField(res, code);
  return v ? v : "";
}

}  // namespace

server_error_fields parse_verbose_error(const std::string& text) {
  server_error_fields f;
  // The server's part starts at its severity; what precedes is libpq's "connection to ... failed:".
  static const char* severities[] = {"FATAL:  ", "ERROR:  ", "PANIC:  "};
  std::size_t start = std::string::npos;
  for (const char* sev : severities) {
    const auto pos = text.find(sev);
    if (pos != std::string::npos && pos < start) start = pos;
  }
  if (start == std::string::npos) {
    f.message = trim(text);
    return f;
  }
  std::istringstream in(text.substr(start));
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (first) {
      first = false;
      const auto colon = line.find(":  ");
      f.severity = line.substr(0, colon);
      std::string rest = line.substr(colon + 3);
      // Verbose mode puts the SQLSTATE before the message: "28000: unable to ..."
      if (rest.size() > 7 && rest[5] == ':' && is_sqlstate(rest.substr(0, 5))) {
        f.sqlstate = rest.substr(0, 5);
        rest = rest.substr(7);
      }
      f.message = trim(rest);
    } else if (starts_with(line, "DETAIL:  ")) {
      f.detail = trim(line.substr(9));
    } else if (starts_with(line, "HINT:  ")) {
      f.hint = trim(line.substr(7));
    } else if (starts_with(line, "LOCATION:  ") || line.empty()) {
      continue;
    } else if (f.hint.empty() && f.detail.empty()) {
      f.message += " " + trim(line);
    }
  }
  return f;
}

std::string diagnose_refusal(const server_error_fields& f, const resolved_config& s) {
  const std::string action(to_string(action_for_user(s.source.user)));
  const std::string user = util::printable(s.source.user);
  if (f.hint.find("Wrong user to action mapping") != std::string::npos) {
    return "the token's action does not fit user '" + user + "': user admin needs a " +
           "DbConnectAdmin token and every other role a DbConnect token (this connector signs " +
           action + " for '" + user + "')";
  }
  if (f.hint.find("Signature expired") != std::string::npos) {
    return "the token had expired when the server checked it: this machine's clock may be wrong "
           "(check it with `date -u` against a time server) or the token was kept longer than its "
           "duration (" +
           std::to_string(s.source.token_duration.count()) + " s)";
  }
  if (f.hint.find("not yet current") != std::string::npos) {
    return "the token is dated in the future from the server's point of view: this machine's "
           "clock is ahead; correct it";
  }
  std::string d =
      "the server refused the IAM token. Check that: the credentials' IAM principal "
      "is allowed dsql:" +
      action + " on this cluster; the region " + util::quoted(s.target.region) +
      " is the cluster's region; the token is signed for the cluster's own "
      "hostname (signed for " +
      util::quoted(s.target.token_host) + ")";
  const std::string host_region = region_from_host(s.target.host);
  if (!host_region.empty() && host_region != s.target.region) {
    d += "; note: the host says region " + util::quoted(host_region) +
         " but the token was signed for " + util::quoted(s.target.region);
  }
  if (user != "admin") {
    d += "; role '" + user +
         "' must exist WITH LOGIN and be mapped to the principal with "
         "AWS IAM GRANT " +
         user + " TO '<principal ARN>'";
  }
  return d;
}

void throw_connect_failure(const std::string& libpq_message, const resolved_config& settings) {
  const server_error_fields f = parse_verbose_error(libpq_message);
  const bool refused = f.sqlstate == "28000" || f.sqlstate == "28P01" ||
                       f.message.find("access denied") != std::string::npos;
  const std::string where =
      util::printable(settings.target.host) + ":" + std::to_string(settings.target.port);
  // The server's words may repeat what the client sent (user names, for one).
  const std::string message = util::printable(f.message, 500, util::whitespace::collapse);
  const std::string hint =
      f.hint.empty() ? ""
                     : " (hint: " + util::printable(f.hint, 500, util::whitespace::collapse) + ")";
  // Quotas are checked before the token, so these say nothing about the credentials.
  if (f.sqlstate == "53400") {
    throw rate_limited_error("connection to " + where +
                                 " refused for rate (SQLSTATE 53400): " + message +
                                 "; the cluster limits new connections per second: retry after "
                                 "a backoff, or open fewer connections at once",
                             {f.sqlstate, f.message, f.detail, f.hint});
  }
  if (f.sqlstate == "53300") {
    throw too_many_connections_error(
        "connection to " + where + " refused, capacity exhausted (SQLSTATE 53300): " + message +
            "; the cluster's quota of open connections is used up: close idle connections, "
            "lower pool max_size, or raise the quota",
        {f.sqlstate, f.message, f.detail, f.hint});
  }
  if (refused) {
    const std::string diagnosis = diagnose_refusal(f, settings);
    const std::string what = "login to " + where + " as " + util::quoted(settings.source.user) +
                             " refused: " + message + hint + "; " + diagnosis;
    throw auth_error(what, {f.sqlstate, f.message, f.detail, f.hint, diagnosis});
  }
  throw connection_error("could not connect to " + where + ": " + message +
                         (f.severity.empty() ? "" : hint));
}

void throw_result_error(PGconn* conn, PGresult* res) {
  if (PQstatus(conn) == CONNECTION_BAD) {
    throw connection_error("connection lost: " +
                           util::printable(PQerrorMessage(conn), 500, util::whitespace::collapse));
  }
  std::string message = field(res, PG_DIAG_MESSAGE_PRIMARY);
  std::string sqlstate = field(res, PG_DIAG_SQLSTATE);
  if (message.empty()) message = trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  // Statement errors quote identifiers and values from the statement: escaped, but long enough
  // to keep the server's whole sentence.
  std::string what = util::printable(message, 1000);
  if (!sqlstate.empty()) what = sqlstate + ": " + what;
  throw sql_error(what, {std::move(sqlstate), std::move(message),
                         field(res, PG_DIAG_MESSAGE_DETAIL), field(res, PG_DIAG_MESSAGE_HINT)});
}

}  // namespace dsql::detail
