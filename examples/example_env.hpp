#pragma once

// The samples' environment variables: CLUSTER_ENDPOINT (endpoint or cluster ID), CLUSTER_USER
// (default admin) and REGION. Against `dsql local`, PGPORT, PGSSLROOTCERT and the AWS_* variables
// carry the port, the local CA and the local keys.

#include <cstdlib>
#include <iostream>
#include <string>

#include "dsql/config.hpp"
#include "dsql/errors.hpp"
#include "dsql/notice.hpp"

namespace examples {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : fallback;
}

// The server's notices ("relation ... already exists, skipping") as one line of our own output;
// without a handler the connector drops them.
inline void print_notice(const dsql::notice& n) {
  std::cout << "notice: " << n.severity << ": " << n.message << "\n";
}

inline dsql::config config_from_env() {
  dsql::config cfg;
  cfg.host = env_or("CLUSTER_ENDPOINT", "");
  if (cfg.host.empty()) {
    throw dsql::config_error("set CLUSTER_ENDPOINT to your cluster endpoint (or cluster ID)");
  }
  cfg.user = env_or("CLUSTER_USER", "admin");
  cfg.region = env_or("REGION", "");
  cfg.on_notice = print_notice;
  return cfg;
}

}  // namespace examples
