#pragma once

// The environment the `dsql` command tests run it in: none of the developer's AWS settings,
// no instance metadata, no stray libpq or endpoint variables.

#include "support/run_process.hpp"

namespace dsql::test {

inline env_overrides isolated_cli_env() {
  return {{"AWS_ACCESS_KEY_ID", std::nullopt},
          {"AWS_SECRET_ACCESS_KEY", std::nullopt},
          {"AWS_SESSION_TOKEN", std::nullopt},
          {"AWS_PROFILE", std::nullopt},
          {"AWS_REGION", std::nullopt},
          {"AWS_DEFAULT_REGION", std::nullopt},
          {"AWS_CONFIG_FILE", "/nonexistent/cfg"},
          {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c"},
          {"AWS_EC2_METADATA_DISABLED", "true"},
          {"AWS_WEB_IDENTITY_TOKEN_FILE", std::nullopt},
          {"AWS_ROLE_ARN", std::nullopt},
          {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", std::nullopt},
          {"AWS_CONTAINER_CREDENTIALS_FULL_URI", std::nullopt},
          {"PGPASSWORD", std::nullopt},
          {"PGPORT", std::nullopt},
          {"CLUSTER_ENDPOINT", std::nullopt}};
}

}  // namespace dsql::test
