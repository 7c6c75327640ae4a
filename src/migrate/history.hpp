#pragma once

// Where dsql migrate keeps its state on the cluster: a history row per version (how far it got,
// statement by statement) and a lock row that one run at a time holds as a lease. DSQL has no
// advisory locks; the lock is an INSERT ... ON CONFLICT whose first committer wins, renewed by a
// heartbeat, and every history update is guarded by the state it expects, so that two runs can
// never both record (or apply) the same statement even if the lease were lost.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dsql/migrate.hpp"

namespace dsql::detail {

// How transactions and single statements run: on a pool or a connector, retried on OCC.
// Thread-safe (the lock's heartbeat uses it from its own thread).
class migrate_executor {
 public:
  virtual ~migrate_executor() = default;
  virtual void transaction(const std::function<void(connection&)>& fn) = 0;
  virtual result autocommit(const std::string& sql,
                            const std::vector<std::optional<std::string>>& params = {}) = 0;
};
std::unique_ptr<migrate_executor> pool_executor(pool& p, const retry_options& retry);
std::unique_ptr<migrate_executor> connector_executor(connector& c, const retry_options& retry);

struct history_row {
  std::string version;
  std::string name;
  std::string checksum;
  std::size_t statements = 0;
  std::size_t applied = 0;  // statements applied, from the first
  std::string applied_digest;
  std::optional<std::size_t> pending_statement;  // started by a run that may have stopped
  std::string pending_job;                       // its job, once the statement committed
  std::string state;                             // running, applied or failed
  std::string error;
  std::string finished_at;
};

// The history table's rows and guarded updates. Each update returns false when the row was not
// in the state it expected: another run got there first.
class history_store {
 public:
  history_store(migrate_executor& ex, const migrate_options& options);

  bool exists();
  void create();
  std::map<std::string, history_row> read();

  bool start(const migration_file& file, std::size_t statements, const std::string& digest0,
             const std::string& applied_by);
  bool update_file(const migration_file& file, std::size_t statements, std::size_t applied);
  // In the caller's transaction (a DML group's): statements up to `applied` are applied.
  bool record_group(connection& c, const std::string& version, std::size_t from,
                    std::size_t applied, const std::string& digest,
                    std::optional<long long> done_ms);
  bool mark_pending(const std::string& version, std::size_t statement);
  bool record_job(const std::string& version, std::size_t statement, const std::string& job);
  bool record_done(const std::string& version, std::size_t statement, const std::string& digest,
                   std::optional<long long> done_ms);
  bool clear_pending(const std::string& version, std::size_t statement);
  // Best effort: the statement at `applied` failed; nothing was applied.
  void record_failure(const std::string& version, std::size_t applied, const std::string& error);

 private:
  bool update(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  migrate_executor& ex_;
  std::string table_;
  std::string lock_table_;
};

// Holds the cluster's migration lock from construction (waiting for it up to lock_timeout) to
// destruction, renewing the lease from a thread of its own.
class migration_lock {
 public:
  migration_lock(migrate_executor& ex, const migrate_options& options);
  ~migration_lock();
  migration_lock(const migration_lock&) = delete;
  migration_lock& operator=(const migration_lock&) = delete;

  // Throws migration_error when a renewal found the lock taken over.
  void check() const;

 private:
  void heartbeat();
  bool try_acquire();
  migrate_executor& ex_;
  const migrate_options& options_;
  std::string table_;
  std::string owner_;
  std::string holder_;
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dsql::detail
