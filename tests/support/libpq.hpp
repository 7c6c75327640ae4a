#pragma once

// libpq connections for tests that speak to a server without the connector.

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dsql::test {

using pgconn_ptr = std::unique_ptr<PGconn, decltype(&PQfinish)>;

// PQconnectdbParams with keyword/value pairs; check PQstatus on the result.
inline pgconn_ptr pq_connect(const std::vector<std::pair<std::string, std::string>>& params) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  return pgconn_ptr(PQconnectdbParams(keys.data(), values.data(), 0), PQfinish);
}

using pgresult_ptr = std::unique_ptr<PGresult, decltype(&PQclear)>;

inline pgresult_ptr pq_exec(PGconn* conn, const std::string& sql) {
  return pgresult_ptr(PQexec(conn, sql.c_str()), PQclear);
}

// A field of an error result (PG_DIAG_SQLSTATE, PG_DIAG_MESSAGE_PRIMARY, ...), "" when absent.
inline std::string pq_error_field(const PGresult* res, int field) {
  const char* s = res ? PQresultErrorField(res, field) : nullptr;
  return s ? s : "";
}

// The first value of a query's first row, "" for a command, or "<error: ...>" so that assertions
// show what happened.
inline std::string pq_value(PGconn* conn, const std::string& sql) {
  const pgresult_ptr res = pq_exec(conn, sql);
  const auto status = PQresultStatus(res.get());
  if (status == PGRES_COMMAND_OK) return "";
  if (status != PGRES_TUPLES_OK) return std::string("<error: ") + PQerrorMessage(conn) + ">";
  if (PQntuples(res.get()) < 1) return "<no rows>";
  return PQgetvalue(res.get(), 0, 0);
}

// `params` with `key` set to `value` (replaced, or added at the end); an empty value removes it.
inline std::vector<std::pair<std::string, std::string>> with_param(
    std::vector<std::pair<std::string, std::string>> params, const std::string& key,
    const std::string& value) {
  std::vector<std::pair<std::string, std::string>> out;
  bool replaced = false;
  for (auto& [k, v] : params) {
    if (k != key) {
      out.emplace_back(std::move(k), std::move(v));
    } else if (!replaced && !value.empty()) {
      out.emplace_back(key, value);
      replaced = true;
    } else {
      replaced = true;
    }
  }
  if (!replaced && !value.empty()) out.emplace_back(key, value);
  return out;
}

}  // namespace dsql::test
