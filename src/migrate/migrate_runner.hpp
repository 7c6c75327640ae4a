#pragma once

// One migrate() call: checks, the lock, and each pending migration applied step by step.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dsql/migrate.hpp"
#include "migrate/history.hpp"
#include "migrate/migrate_internal.hpp"

namespace dsql::detail {

class migration_runner {
 public:
  migration_runner(migrate_executor& ex, const std::string& directory,
                   const migrate_options& options);
  migrate_result run();

 private:
  using time_point = std::chrono::steady_clock::time_point;

  // Applied files unchanged, partly applied ones unchanged where applied, versions in order.
  void check_history(const std::map<std::string, history_row>& rows);
  // Every pending statement DSQL is known to refuse, named before anything runs.
  void check_refusals() const;
  void number_transactions();

  void apply(analysed_migration& m, const history_row* row);
  void run_group(analysed_migration& m, std::size_t index, const plan_step& step, bool last,
                 time_point started);
  void run_single(analysed_migration& m, std::size_t index, const plan_step& step, bool last,
                  time_point started);

  // A stopped run had started statement row.pending_statement: decides whether it took effect
  // (its job, the catalog, the resolve option) and returns the first statement left to run.
  std::size_t resolve_pending(analysed_migration& m, const history_row& row);
  // Waits for an async statement's job; throws (and records the failure) unless it succeeded
  // and, for an index, the index is valid.
  void finish_job(analysed_migration& m, std::size_t i, const std::string& job);
  [[noreturn]] void fail_job(analysed_migration& m, std::size_t i, const std::string& job,
                             const std::string& why);
  // Whether the async statement's index is valid; nullopt when that cannot be told.
  std::optional<bool> index_valid(const analysed_migration& m, std::size_t i,
                                  const std::string& job);
  static std::string job_of(const result& r);

  std::string where(const analysed_migration& m, std::size_t i) const;
  migration_error failure(const analysed_migration& m, std::size_t i, const std::string& why) const;
  migration_error statement_failed(const analysed_migration& m, std::size_t i,
                                   const std::exception& e) const;
  migration_error fenced(const analysed_migration& m) const;
  void emit(migrate_event::type kind, const analysed_migration* m, std::size_t transaction,
            std::size_t first, std::size_t last, std::chrono::milliseconds elapsed,
            const std::string& job);

  migrate_executor& ex_;
  const migrate_options& options_;
  history_store history_;
  std::string directory_;
  std::vector<analysed_migration> migrations_;
  std::vector<std::string> notes_;
  migration_lock* lock_ = nullptr;
  migrate_result result_;
};

}  // namespace dsql::detail
