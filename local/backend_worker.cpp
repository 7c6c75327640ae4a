#include "local/backend_worker.hpp"

#include "util/printable.hpp"

namespace dsql::local {

pg_result pg_exec(PGconn* conn, const char* sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  return pg_result(PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                                nullptr, nullptr, 0));
}

backend_worker::backend_worker(backend_worker_options options)
    : options_(std::move(options)), worker_([this] { run(); }) {}

backend_worker::~backend_worker() {
  stop();
}

void backend_worker::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  drop_connection();
}

void backend_worker::post(job j) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    jobs_.push_back(std::move(j));
  }
  wake_.notify_one();
}

bool backend_worker::connection_lost(PGconn* conn, const pg_result& failed) {
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD || !failed) return true;
  // No SQLSTATE: libpq's own error (the server closed the connection). 57P0x: the server is
  // shutting down or restarting after a crash. 08xxx: a connection exception.
  const char* state = PQresultErrorField(failed.get(), PG_DIAG_SQLSTATE);
  if (state == nullptr) return true;
  const std::string s(state);
  return s.rfind("57P0", 0) == 0 || s.rfind("08", 0) == 0;
}

void backend_worker::on_notice(void* self, const char* message) {
  // The server's words (a restart's WARNING, say) reach the endpoint's log as one escaped line.
  const auto* worker = static_cast<const backend_worker*>(self);
  if (worker->options_.log) {
    worker->options_.log("front: " + worker->options_.application_name + ": PostgreSQL said: " +
                         util::printable(message, 300, util::whitespace::collapse));
  }
}

void backend_worker::run() {
  for (;;) {
    job j;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      j = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (j(connection(), false)) continue;
    // The connection broke under the job (its PostgreSQL backend died and was restarted, say):
    // once more on a fresh one.
    if (options_.log)
      options_.log("front: " + options_.application_name + " reconnecting to PostgreSQL");
    drop_connection();
    (void)j(connection(), true);
  }
}

void backend_worker::drop_connection() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

PGconn* backend_worker::connection() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return conn_;
  drop_connection();
  const std::string port = std::to_string(options_.port);
  const char* keys[] = {"host", "port", "user", "dbname", "application_name", "options", nullptr};
  const char* values[] = {options_.socket_dir.c_str(),
                          port.c_str(),
                          options_.user.c_str(),
                          "postgres",
                          options_.application_name.c_str(),
                          options_.options.c_str(),
                          nullptr};
  conn_ = PQconnectdbParams(keys, values, 0);
  if (PQstatus(conn_) != CONNECTION_OK) {
    if (options_.log) {
      options_.log("front: " + options_.application_name +
                   " cannot connect to PostgreSQL: " + PQerrorMessage(conn_));
    }
    drop_connection();
    return nullptr;
  }
  PQsetNoticeProcessor(conn_, &backend_worker::on_notice, this);
  if (!options_.setup_sql.empty()) {
    pg_result r(PQexec(conn_, options_.setup_sql.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      if (options_.log) {
        options_.log("front: " + options_.application_name +
                     " setup failed: " + PQerrorMessage(conn_));
      }
      drop_connection();
    }
  }
  return conn_;
}

}  // namespace dsql::local
