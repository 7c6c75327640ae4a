#pragma once

// The front's IAM bookkeeping in the backing PostgreSQL: sys.iam_pg_role_mappings (AWS IAM
// GRANT / REVOKE) and the login check for roles other than admin. Runs on a backend_worker of
// its own; results reach callbacks on its thread (callers post them to their executor).
// Thread-safe.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "local/backend_worker.hpp"
#include "local/wire_protocol.hpp"

namespace dsql::local {

class front_bookkeeping {
 public:
  front_bookkeeping(std::string socket_dir, std::uint16_t port, std::string superuser,
                    std::function<void(const std::string&)> log);

  // Whether `arn` is mapped to `role` and the role exists with LOGIN; nullopt when that could
  // not be checked (the reason is logged, and the caller answers with a retryable error).
  void check_login(std::string role, std::string arn,
                   std::function<void(std::optional<bool>)> done);
  // AWS IAM GRANT / REVOKE; nullopt on success, else the error to report.
  using result_callback = std::function<void(std::optional<wire::error_info>)>;
  void grant(std::string role, std::string arn, std::string grantor, result_callback done);
  void revoke(std::string role, std::string arn, result_callback done);

  // Connects and creates the sys schema's objects now, so that they exist before the endpoint
  // says it is ready. Throws std::runtime_error when PostgreSQL cannot be reached.
  void prepare();
  // Finishes queued work and joins the worker; later calls are dropped.
  void stop();

 private:
  std::function<void(const std::string&)> log_;
  backend_worker worker_;
};

}  // namespace dsql::local
