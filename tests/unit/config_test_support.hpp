#pragma once

// What the config and endpoint tests share: a clean environment and the message of a refusal.

#include <functional>
#include <optional>
#include <string>

#include "dsql/errors.hpp"
#include "test_support.hpp"

namespace dsql::test {

// Isolates the tests from the machine's AWS and libpq settings.
struct clean_env {
  scoped_env r{"AWS_REGION", std::nullopt}, dr{"AWS_DEFAULT_REGION", std::nullopt},
      p{"AWS_PROFILE", std::nullopt}, cf{"AWS_CONFIG_FILE", "/nonexistent/config"},
      cr{"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"}, port{"PGPORT", std::nullopt},
      cert{"PGSSLROOTCERT", std::nullopt}, timeout{"PGCONNECT_TIMEOUT", std::nullopt},
      app{"PGAPPNAME", std::nullopt};
};

// The config_error `fn` throws, or "(no config_error)".
inline std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no config_error)";
}

}  // namespace dsql::test
