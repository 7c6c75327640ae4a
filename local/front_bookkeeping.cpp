#include "local/front_bookkeeping.hpp"

#include "local/backend_schema.hpp"

#include <chrono>
#include <future>
#include <stdexcept>

#include <libpq-fe.h>

#include <memory>
#include <vector>

namespace dsql::local {
namespace {

struct result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

result_ptr exec(PGconn* conn, const char* sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  return result_ptr(PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                                 nullptr, nullptr, 0));
}

bool tuples_ok(const result_ptr& r) {
  return r && PQresultStatus(r.get()) == PGRES_TUPLES_OK;
}

wire::error_info backend_unavailable() {
  return {"58000", "the local endpoint could not update IAM role mappings", {}};
}

}  // namespace

front_bookkeeping::front_bookkeeping(std::string socket_dir, std::uint16_t port,
                                     std::string superuser,
                                     std::function<void(const std::string&)> log)
    : socket_dir_(std::move(socket_dir)),
      port_(std::to_string(port)),
      superuser_(std::move(superuser)),
      log_(std::move(log)),
      worker_([this] { run(); }) {}

front_bookkeeping::~front_bookkeeping() {
  stop();
}

void front_bookkeeping::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

void front_bookkeeping::prepare() {
  std::promise<bool> ready;
  std::future<bool> done = ready.get_future();
  post([&ready](PGconn* conn) { ready.set_value(conn != nullptr); });
  if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready || !done.get()) {
    throw std::runtime_error(
        "the front could not prepare PostgreSQL (see postgres.log in the state directory)");
  }
}

void front_bookkeeping::post(job j) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    jobs_.push_back(std::move(j));
  }
  wake_.notify_one();
}

void front_bookkeeping::run() {
  for (;;) {
    job j;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      j = std::move(jobs_.front());
      jobs_.pop_front();
    }
    j(connection());
  }
}

PGconn* front_bookkeeping::connection() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return conn_;
  if (conn_) PQfinish(conn_);
  const char* keys[] = {"host", "port", "user", "dbname", "application_name", nullptr};
  const char* values[] = {socket_dir_.c_str(), port_.c_str(),      superuser_.c_str(),
                          "postgres",          "dsql-local-front", nullptr};
  conn_ = PQconnectdbParams(keys, values, 0);
  if (PQstatus(conn_) != CONNECTION_OK) {
    if (log_) log_(std::string("front: bookkeeping connection failed: ") + PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    return nullptr;
  }
  result_ptr r(PQexec(conn_, backend_schema_sql));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    if (log_)
      log_(std::string("front: creating the sys schema's objects failed: ") +
           PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
  }
  return conn_;
}

void front_bookkeeping::check_login(std::string role, std::string arn,
                                    std::function<void(bool)> done) {
  post([role = std::move(role), arn = std::move(arn), done = std::move(done)](PGconn* conn) {
    if (!conn) return done(false);
    const auto r = exec(conn,
                        "SELECT 1 FROM sys.iam_pg_role_mappings m JOIN pg_roles r ON r.oid = "
                        "m.pg_role_oid WHERE m.arn = $1 AND r.rolname = $2 AND r.rolcanlogin",
                        {arn, role});
    done(tuples_ok(r) && PQntuples(r.get()) > 0);
  });
}

void front_bookkeeping::grant(std::string role, std::string arn, std::string grantor,
                              result_callback done) {
  post([role = std::move(role), arn = std::move(arn), grantor = std::move(grantor),
        done = std::move(done)](PGconn* conn) {
    if (!conn) return done(backend_unavailable());
    const auto found = exec(conn, "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", {role});
    if (!tuples_ok(found)) return done(backend_unavailable());
    if (PQntuples(found.get()) == 0) {
      return done(wire::error_info{"42704", "IAM role " + role + " does not exist", {}});
    }
    if (std::string(PQgetvalue(found.get(), 0, 0)) != "t") {
      return done(wire::error_info{"42501", "role " + role + " must have the LOGIN attribute", {}});
    }
    const auto ins = exec(conn,
                          "INSERT INTO sys.iam_pg_role_mappings (arn, pg_role_oid, pg_role_name, "
                          "grantor_pg_role_oid, grantor_pg_role_name) SELECT $1, r.oid, r.rolname, "
                          "g.oid, g.rolname FROM pg_roles r, pg_roles g WHERE r.rolname = $2 AND "
                          "g.rolname = $3 ON CONFLICT DO NOTHING RETURNING 1",
                          {arn, role, grantor});
    if (!tuples_ok(ins)) return done(backend_unavailable());
    if (PQntuples(ins.get()) == 0) {
      return done(
          wire::error_info{"42710", "IAM role " + role + " is already granted to " + arn, {}});
    }
    done(std::nullopt);
  });
}

void front_bookkeeping::revoke(std::string role, std::string arn, result_callback done) {
  post([role = std::move(role), arn = std::move(arn), done = std::move(done)](PGconn* conn) {
    if (!conn) return done(backend_unavailable());
    const auto del = exec(conn,
                          "DELETE FROM sys.iam_pg_role_mappings WHERE arn = $1 AND pg_role_name = "
                          "$2 RETURNING 1",
                          {arn, role});
    if (!tuples_ok(del)) return done(backend_unavailable());
    if (PQntuples(del.get()) == 0) {
      return done(wire::error_info{"42704", "IAM role " + role + " is not granted to " + arn, {}});
    }
    done(std::nullopt);
  });
}

}  // namespace dsql::local
