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

}  // namespace dsql::test
