#pragma once

// The front's own connection to the backing PostgreSQL, as its superuser, for the IAM role
// mappings (sys.iam_pg_role_mappings). libpq is blocking, so every query runs on one worker
// thread; results are handed to callbacks on that thread (callers post them to their executor).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "local/wire_protocol.hpp"

struct pg_conn;

namespace dsql::local {

class front_bookkeeping {
 public:
  front_bookkeeping(std::string socket_dir, std::uint16_t port, std::string superuser,
                    std::function<void(const std::string&)> log);
  ~front_bookkeeping();
  front_bookkeeping(const front_bookkeeping&) = delete;
  front_bookkeeping& operator=(const front_bookkeeping&) = delete;

  // Whether `arn` is mapped to `role` and the role exists with LOGIN.
  void check_login(std::string role, std::string arn, std::function<void(bool)> done);
  // AWS IAM GRANT / REVOKE; nullopt on success, else the error to report.
  using result_callback = std::function<void(std::optional<wire::error_info>)>;
  void grant(std::string role, std::string arn, std::string grantor, result_callback done);
  void revoke(std::string role, std::string arn, result_callback done);

  // Connects and creates sys.iam_pg_role_mappings now, so that the table exists before the
  // endpoint says it is ready. Throws std::runtime_error when PostgreSQL cannot be reached.
  void prepare();
  // Finishes queued work and joins the worker; later calls are dropped.
  void stop();

 private:
  using job = std::function<void(pg_conn*)>;
  void post(job j);
  void run();
  pg_conn* connection();

  std::string socket_dir_;
  std::string port_;
  std::string superuser_;
  std::function<void(const std::string&)> log_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> jobs_;
  bool stopping_ = false;
  pg_conn* conn_ = nullptr;
  std::thread worker_;
};

}  // namespace dsql::local
