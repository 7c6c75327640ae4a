#include "local/front_bookkeeping.hpp"

#include "local/backend_schema.hpp"
#include "util/printable.hpp"

#include <chrono>
#include <future>
#include <stdexcept>

#include <libpq-fe.h>

#include <memory>
#include <vector>

namespace dsql::local {
namespace {

bool tuples_ok(const pg_result& r) {
  return r && PQresultStatus(r.get()) == PGRES_TUPLES_OK;
}

wire::error_info backend_unavailable() {
  return {"58000", "the local endpoint could not update IAM role mappings", {}};
}

}  // namespace

front_bookkeeping::front_bookkeeping(std::string socket_dir, std::uint16_t port,
                                     std::string superuser,
                                     std::function<void(const std::string&)> log)
    : log_(log),
      worker_(backend_worker_options{std::move(socket_dir), port, std::move(superuser),
                                     "dsql-local-front", backend_worker_options{}.options,
                                     backend_schema_sql, log}) {}

void front_bookkeeping::stop() {
  worker_.stop();
}

void front_bookkeeping::prepare() {
  std::promise<bool> ready;
  std::future<bool> done = ready.get_future();
  worker_.post([&ready](PGconn* conn, bool) {
    ready.set_value(conn != nullptr);
    return true;
  });
  if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready || !done.get()) {
    throw std::runtime_error(
        "the front could not prepare PostgreSQL (see postgres.log in the state directory)");
  }
}

void front_bookkeeping::check_login(std::string role, std::string arn,
                                    std::function<void(std::optional<bool>)> done) {
  worker_.post([role = std::move(role), arn = std::move(arn), done = std::move(done), log = log_](
                   PGconn* conn, bool last) {
    if (!conn) {
      done(std::nullopt);
      return true;
    }
    const auto r = pg_exec(conn,
                           "SELECT 1 FROM sys.iam_pg_role_mappings m JOIN pg_roles r ON r.oid = "
                           "m.pg_role_oid WHERE m.arn = $1 AND r.rolname = $2 AND r.rolcanlogin",
                           {arn, role});
    if (!tuples_ok(r)) {
      if (!last && backend_worker::connection_lost(conn, r)) return false;
      if (log)
        log(std::string("front: checking IAM role mappings failed: ") + PQerrorMessage(conn));
      done(std::nullopt);
      return true;
    }
    done(PQntuples(r.get()) > 0);
    return true;
  });
}

void front_bookkeeping::grant(std::string role, std::string arn, std::string grantor,
                              result_callback done) {
  worker_.post([role = std::move(role), arn = std::move(arn), grantor = std::move(grantor),
                done = std::move(done)](PGconn* conn, bool last) {
    auto report = [&](std::optional<wire::error_info> e) {
      done(std::move(e));
      return true;
    };
    if (!conn) return report(backend_unavailable());
    const auto found = pg_exec(conn, "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", {role});
    if (!tuples_ok(found)) {
      if (!last && backend_worker::connection_lost(conn, found)) return false;
      return report(backend_unavailable());
    }
    if (PQntuples(found.get()) == 0) {
      return report(
          wire::error_info{"42704", "IAM role " + util::printable(role) + " does not exist", {}});
    }
    if (std::string(PQgetvalue(found.get(), 0, 0)) != "t") {
      return report(wire::error_info{
          "42501", "role " + util::printable(role) + " must have the LOGIN attribute", {}});
    }
    const auto ins =
        pg_exec(conn,
                "INSERT INTO sys.iam_pg_role_mappings (arn, pg_role_oid, pg_role_name, "
                "grantor_pg_role_oid, grantor_pg_role_name) SELECT $1, r.oid, "
                "r.rolname, g.oid, g.rolname FROM pg_roles r, pg_roles g WHERE "
                "r.rolname = $2 AND g.rolname = $3 ON CONFLICT DO NOTHING RETURNING 1",
                {arn, role, grantor});
    if (!tuples_ok(ins)) return report(backend_unavailable());
    if (PQntuples(ins.get()) == 0) {
      return report(wire::error_info{
          "42710",
          "IAM role " + util::printable(role) + " is already granted to " + util::printable(arn),
          {}});
    }
    return report(std::nullopt);
  });
}

void front_bookkeeping::revoke(std::string role, std::string arn, result_callback done) {
  worker_.post([role = std::move(role), arn = std::move(arn), done = std::move(done)](PGconn* conn,
                                                                                      bool last) {
    auto report = [&](std::optional<wire::error_info> e) {
      done(std::move(e));
      return true;
    };
    if (!conn) return report(backend_unavailable());
    const auto del = pg_exec(conn,
                             "DELETE FROM sys.iam_pg_role_mappings WHERE arn = $1 AND pg_role_name "
                             "= $2 RETURNING 1",
                             {arn, role});
    if (!tuples_ok(del)) {
      if (!last && backend_worker::connection_lost(conn, del)) return false;
      return report(backend_unavailable());
    }
    if (PQntuples(del.get()) == 0) {
      return report(wire::error_info{
          "42704",
          "IAM role " + util::printable(role) + " is not granted to " + util::printable(arn),
          {}});
    }
    return report(std::nullopt);
  });
}

}  // namespace dsql::local
