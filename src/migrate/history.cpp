#include "migrate/history.hpp"

#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "migrate/migrate_internal.hpp"
#include "util/printable.hpp"
#include "util/random_id.hpp"

namespace dsql::detail {
namespace {

using params = std::vector<std::optional<std::string>>;

constexpr const char* lock_name = "migrate";

class pool_runner : public migrate_executor {
 public:
  pool_runner(pool& p, const retry_options& r) : pool_(p), retry_(r) {}
  void transaction(const std::function<void(connection&)>& fn) override {
    run_transaction(
        pool_, [&](connection& c) { fn(c); }, retry_);
  }
  result autocommit(const std::string& sql, const params& values) override {
    return exec_with_retry(pool_, sql, values, retry_);
  }

 private:
  pool& pool_;
  retry_options retry_;
};

class connector_runner : public migrate_executor {
 public:
  connector_runner(connector& c, const retry_options& r) : connector_(c), retry_(r) {
    validate(retry_);
  }
  void transaction(const std::function<void(connection&)>& fn) override {
    run_transaction(
        connector_, [&](connection& c) { fn(c); }, retry_);
  }
  // A statement outside a transaction block, retried on conflict like a transaction.
  result autocommit(const std::string& sql, const params& values) override {
    const auto start = std::chrono::steady_clock::now();
    for (int attempt = 1;; ++attempt) {
      try {
        connection c = connector_.connect();
        return values.empty() ? c.exec(sql) : c.exec_params(sql, values);
      } catch (const std::exception& e) {
        const auto occ = classify_occ(e, retry_.retry_plain_serialization_failure);
        if (!occ || attempt >= retry_.max_attempts) throw;
        thread_local std::mt19937_64 rng{std::random_device{}()};
        const auto delay =
            backoff_delay(retry_, attempt, std::uniform_real_distribution<double>(0, 1)(rng));
        if (retry_.time_budget.count() > 0 &&
            std::chrono::steady_clock::now() + delay - start > retry_.time_budget) {
          throw;
        }
        std::this_thread::sleep_for(delay);
      }
    }
  }

 private:
  connector& connector_;
  retry_options retry_;
};

std::string this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown host";
  return util::printable(name, 100) + " pid " + std::to_string(::getpid());
}

std::optional<std::string> text(std::size_t n) {
  return std::to_string(n);
}

std::string done_columns(std::optional<long long> done_ms) {
  return done_ms ? ", state = 'applied', error = NULL, finished_at = now(), duration_ms = " +
                       std::to_string(*done_ms)
                 : "";
}

}  // namespace

std::unique_ptr<migrate_executor> pool_executor(pool& p, const retry_options& retry) {
  return std::make_unique<pool_runner>(p, retry);
}

std::unique_ptr<migrate_executor> connector_executor(connector& c, const retry_options& retry) {
  return std::make_unique<connector_runner>(c, retry);
}

history_store::history_store(migrate_executor& ex, const migrate_options& options)
    : ex_(ex),
      table_(checked_table_name(options.history_table, "history_table")),
      lock_table_(checked_table_name(options.lock_table, "lock_table")) {}

bool history_store::exists() {
  const result r = ex_.autocommit(
      "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL", {table_, lock_table_});
  return r.value(0, 0) == "t";
}

void history_store::create() {
  // One DDL statement per transaction, as DSQL requires; without serial or defaults DSQL lacks.
  const std::pair<std::string, std::string> tables[] = {
      {table_, "CREATE TABLE IF NOT EXISTS " + table_ +
                   " (version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, "
                   "statements integer NOT NULL, applied_statements integer NOT NULL, "
                   "applied_digest text NOT NULL, pending_statement integer, pending_job text, "
                   "state text NOT NULL, error text, started_at timestamptz NOT NULL, "
                   "finished_at timestamptz, duration_ms bigint, applied_by text NOT NULL)"},
      {lock_table_, "CREATE TABLE IF NOT EXISTS " + lock_table_ +
                        " (name text PRIMARY KEY, owner text NOT NULL, holder text NOT NULL, "
                        "expires_at timestamptz NOT NULL)"}};
  const auto there = [&](const std::string& table) {
    return ex_.autocommit("SELECT to_regclass($1) IS NOT NULL", {table}).value(0, 0) == "t";
  };
  for (const auto& [table, sql] : tables) {
    if (there(table)) continue;  // no DDL when none is needed: DDL makes other sessions retry
    try {
      ex_.transaction([&](connection& c) { c.exec(sql); });
    } catch (const sql_error&) {
      // Two first runs at once: the loser's CREATE ... IF NOT EXISTS can fail on the winner's
      // catalog rows (23505, 42P07, 42710 from PostgreSQL) or keep conflicting with them; if the
      // table is there now, it is the one wanted.
      if (!there(table)) throw;
    }
  }
}

std::map<std::string, history_row> history_store::read() {
  const result r = ex_.autocommit(
      "SELECT version, name, checksum, statements, applied_statements, applied_digest, "
      "pending_statement, coalesce(pending_job, ''), state, coalesce(error, ''), "
      "coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS UTC'), '') FROM " +
      table_);
  std::map<std::string, history_row> rows;
  for (std::size_t i = 0; i < r.rows(); ++i) {
    history_row h;
    h.version = std::string(r.value(i, 0));
    h.name = std::string(r.value(i, 1));
    h.checksum = std::string(r.value(i, 2));
    h.statements = std::stoul(std::string(r.value(i, 3)));
    h.applied = std::stoul(std::string(r.value(i, 4)));
    h.applied_digest = std::string(r.value(i, 5));
    if (!r.is_null(i, 6)) h.pending_statement = std::stoul(std::string(r.value(i, 6)));
    h.pending_job = std::string(r.value(i, 7));
    h.state = std::string(r.value(i, 8));
    h.error = std::string(r.value(i, 9));
    h.finished_at = std::string(r.value(i, 10));
    rows[canonical_version(h.version)] = std::move(h);
  }
  return rows;
}

bool history_store::update(const std::string& sql, const params& values) {
  std::size_t n = 0;
  ex_.transaction([&](connection& c) { n = c.exec_params(sql, values).affected_rows(); });
  return n == 1;
}

bool history_store::start(const migration_file& f, std::size_t statements,
                          const std::string& digest0, const std::string& applied_by) {
  return update("INSERT INTO " + table_ +
                    " (version, name, checksum, statements, applied_statements, applied_digest, "
                    "state, started_at, applied_by) VALUES ($1, $2, $3, $4, 0, $5, 'running', "
                    "now(), $6) ON CONFLICT (version) DO NOTHING",
                {f.version, f.name, f.checksum, text(statements), digest0, applied_by});
}

bool history_store::update_file(const migration_file& f, std::size_t statements,
                                std::size_t applied) {
  return update("UPDATE " + table_ +
                    " SET name = $2, checksum = $3, statements = $4, state = 'running', "
                    "error = NULL WHERE version = $1 AND applied_statements = $5",
                {f.version, f.name, f.checksum, text(statements), text(applied)});
}

bool history_store::record_group(connection& c, const std::string& version, std::size_t from,
                                 std::size_t applied, const std::string& digest,
                                 std::optional<long long> done_ms) {
  return c.exec_params("UPDATE " + table_ + " SET applied_statements = $2, applied_digest = $3" +
                           done_columns(done_ms) +
                           " WHERE version = $1 AND applied_statements = $4 AND "
                           "pending_statement IS NULL",
                       {version, text(applied), digest, text(from)})
             .affected_rows() == 1;
}

bool history_store::mark_pending(const std::string& version, std::size_t statement) {
  return update("UPDATE " + table_ +
                    " SET pending_statement = $2, pending_job = NULL WHERE version = $1 AND "
                    "applied_statements = $2 AND pending_statement IS NULL",
                {version, text(statement)});
}

bool history_store::record_job(const std::string& version, std::size_t statement,
                               const std::string& job) {
  return update("UPDATE " + table_ +
                    " SET pending_job = $3 WHERE version = $1 AND applied_statements = $2 AND "
                    "pending_statement = $2",
                {version, text(statement), job});
}

bool history_store::record_done(const std::string& version, std::size_t statement,
                                const std::string& digest, std::optional<long long> done_ms) {
  return update(
      "UPDATE " + table_ +
          " SET applied_statements = $2::integer + 1, applied_digest = $3, pending_statement = "
          "NULL, pending_job = NULL" +
          done_columns(done_ms) +
          " WHERE version = $1 AND applied_statements = $2 AND pending_statement = $2",
      {version, text(statement), digest});
}

bool history_store::clear_pending(const std::string& version, std::size_t statement) {
  return update("UPDATE " + table_ +
                    " SET pending_statement = NULL, pending_job = NULL WHERE version = $1 AND "
                    "applied_statements = $2 AND pending_statement = $2",
                {version, text(statement)});
}

void history_store::record_failure(const std::string& version, std::size_t applied,
                                   const std::string& error) {
  try {
    update("UPDATE " + table_ +
               " SET state = 'failed', error = $3, pending_statement = NULL, pending_job = NULL "
               "WHERE version = $1 AND applied_statements = $2",
           {version, text(applied), util::printable(error, 1000)});
  } catch (...) {
    // The failure itself is what the caller reports; the history keeps its last good state.
  }
}

migration_lock::migration_lock(migrate_executor& ex, const migrate_options& options)
    : ex_(ex),
      options_(options),
      table_(checked_table_name(options.lock_table, "lock_table")),
      owner_(util::random_id()),
      holder_(this_host()) {
  const auto deadline = std::chrono::steady_clock::now() + options.lock_timeout;
  std::string last_holder;
  while (!try_acquire()) {
    const result r = ex_.autocommit(
        "SELECT holder, greatest(0, ceil(extract(epoch FROM expires_at - now())))::bigint FROM " +
            table_ + " WHERE name = $1",
        {std::string(lock_name)});
    const std::string holder = r.rows() ? std::string(r.value(0, 0)) + " (lease ends in " +
                                              std::string(r.value(0, 1)) + " s)"
                                        : "another run";
    if (std::chrono::steady_clock::now() >= deadline) {
      throw migration_error("another dsql migrate run holds the migration lock: " + holder +
                            "; gave up after waiting " +
                            std::to_string(options.lock_timeout.count()) +
                            " s (lock_timeout); a run that died frees it when its lease ends");
    }
    if (options.on_event && holder != last_holder) {
      migrate_event e;
      e.kind = migrate_event::type::waiting_for_lock;
      e.detail = holder;
      options.on_event(e);
    }
    last_holder = holder;
    const auto step =
        std::min<std::chrono::milliseconds>(std::chrono::seconds(1), options.lock_lease / 4);
    std::this_thread::sleep_for(std::max(step, std::chrono::milliseconds(50)));
  }
  thread_ = std::thread([this] { heartbeat(); });
}

bool migration_lock::try_acquire() {
  result r;
  try {
    r = ex_.autocommit(
        "INSERT INTO " + table_ +
            " AS l (name, owner, holder, expires_at) VALUES ($1, $2, $3, now() + $4::integer * "
            "interval '1 second') ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, holder "
            "= "
            "excluded.holder, expires_at = excluded.expires_at WHERE l.expires_at < now() "
            "RETURNING owner",
        {std::string(lock_name), owner_, holder_, std::to_string(options_.lock_lease.count())});
  } catch (const occ_conflict_error&) {
    return false;  // another run is taking or giving back the lock right now: try again shortly
  }
  return r.rows() == 1 && r.value(0, 0) == owner_;
}

void migration_lock::heartbeat() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    stop_cv_.wait_for(lock, options_.lock_lease / 3, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    try {
      const result r = ex_.autocommit(
          "UPDATE " + table_ +
              " SET expires_at = now() + $3::integer * interval '1 "
              "second' WHERE name = $1 AND owner = $2",
          {std::string(lock_name), owner_, std::to_string(options_.lock_lease.count())});
      if (r.affected_rows() != 1) lost_ = true;
    } catch (...) {
      // A failed renewal is tried again at the next beat; the history's guarded updates keep
      // two runs from applying one statement even if the lease runs out meanwhile.
    }
    lock.lock();
  }
}

void migration_lock::check() const {
  if (lost_) {
    throw migration_error(
        "this run lost the migration lock (its lease ran out and another run took it over); "
        "nothing more was applied; run dsql migrate again to resume");
  }
}

migration_lock::~migration_lock() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    ex_.autocommit("DELETE FROM " + table_ + " WHERE name = $1 AND owner = $2",
                   {std::string(lock_name), owner_});
  } catch (...) {
    // The lease ends by itself.
  }
}

}  // namespace dsql::detail
