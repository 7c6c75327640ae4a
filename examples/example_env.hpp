#pragma once

// The samples' environment variables: CLUSTER_ENDPOINT (endpoint or cluster ID), CLUSTER_USER
// (default admin) and REGION. Against `dsql local`, PGPORT, PGSSLROOTCERT and the AWS_* variables
// carry the port, the local CA and the local keys.

#include <cstdlib>
#include <string>

#include "dsql/config.hpp"
#include "dsql/errors.hpp"

namespace examples {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : fallback;
}

inline dsql::config config_from_env() {
  dsql::config cfg;
  cfg.host = env_or("CLUSTER_ENDPOINT", "");
  if (cfg.host.empty()) {
    throw dsql::config_error("set CLUSTER_ENDPOINT to your cluster endpoint (or cluster ID)");
  }
  cfg.user = env_or("CLUSTER_USER", "admin");
  cfg.region = env_or("REGION", "");
  return cfg;
}

}  // namespace examples
