#pragma once

/// @file
/// Schema migrations that follow DSQL's rules: files V<version>__<name>.sql applied in version
/// order; every DDL statement in its own transaction; DML grouped in transactions of at most
/// 3,000 rows where the text says how many (else one statement per transaction); CREATE INDEX
/// ASYNC and ALTER TABLE ASYNC waited for until their job ends; every transaction retried on
/// OC000/OC001; progress recorded per statement, so that a run that stopped resumes at the first
/// statement not yet applied; one run at a time per cluster (a lease in a lock row, since DSQL
/// has no advisory locks). Generic tools wrap a whole migration in one transaction, which DSQL
/// refuses.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsql/connection.hpp"
#include "dsql/errors.hpp"
#include "dsql/pool.hpp"
#include "dsql/retry.hpp"

namespace dsql {

/// A file V<version>__<name>.sql. Versions are numbers separated by dots or single underscores
/// (V1, V1.2, V2_1); they are compared part by part, numerically, so 1 < 1.2 < 1.10 < 2, and 1
/// and 1.0 name the same version. A plain value: copy it freely.
struct migration_file {
  std::string version;   ///< canonical: "1.10" for V01_10
  std::string name;      ///< the part after "__", without ".sql"
  std::string path;      ///< the file's path, as found in the directory
  std::string checksum;  ///< SHA-256 of the file's bytes, lowercase hex
};

/// <0, 0 or >0 as version a is lower than, the same as, or higher than b. Throws migration_error
/// for a malformed version.
int compare_versions(std::string_view a, std::string_view b);

/// The migration files of `directory`, in version order. Files that do not start with V or do
/// not end in .sql are ignored; a V...sql file not named V<version>__<name>.sql, two files with
/// one version, or a directory that cannot be read is a migration_error.
std::vector<migration_file> find_migrations(const std::string& directory);

/// How a migration statement is run, as the planner classified it.
enum class migration_statement_kind {
  ddl,         ///< one per transaction
  async_ddl,   ///< CREATE INDEX ASYNC, ALTER TABLE ASYNC: one per transaction, then its job waited
               ///< for
  dml,         ///< INSERT, UPDATE, DELETE: grouped with their neighbours within the row limit
  query,       ///< SELECT and other reads: placed with the DML around them
  standalone,  ///< outside any transaction block (CALL, ANALYZE)
};
/// "ddl", "async_ddl", "dml", "query" or "standalone".
std::string_view to_string(migration_statement_kind kind) noexcept;

/// One statement of a migration file, as planned. A plain value: copy it freely.
struct planned_statement {
  std::size_t index = 0;  ///< in its file, from 0
  std::size_t line = 0;   ///< where it starts in its file, from 1
  std::string sql;        ///< as written, without comments before it or its semicolon
  migration_statement_kind kind = migration_statement_kind::ddl;  ///< how it is run
  std::optional<std::size_t> rows;  ///< rows it writes, when the text says (INSERT ... VALUES)
  std::size_t transaction = 0;      ///< which of its migration's transactions runs it, from 0
  /// Why DSQL (or dsql migrate) would refuse it, in DSQL's words where DSQL has them; empty when
  /// nothing known without a server refuses it.
  std::string refusal;
};

/// One migration file with its planned statements and, against a cluster, its progress there. A
/// plain value: copy it freely.
struct planned_migration {
  migration_file file;                        ///< the file
  std::vector<planned_statement> statements;  ///< its statements, in order
  std::size_t transactions = 0;               ///< how many transactions run its statements
  /// From the cluster's history (dry runs and runs): statements already applied, from the first.
  std::size_t applied_statements = 0;
  bool applied = false;  ///< whether every statement is applied (the version is complete)
};

/// The plan of a migrations directory. A plain value: copy it freely (the pointers refused()
/// returns point into the plan it is called on).
struct migration_plan {
  std::string directory;                      ///< the directory planned
  std::vector<planned_migration> migrations;  ///< its migrations, in version order
  /// Notes a dry run prints: migrations applied on the cluster but missing here, and the like.
  std::vector<std::string> notes;
  /// Statements with a refusal, in order.
  std::vector<const planned_statement*> refused() const;
};

/// The rules that only the server can check when a statement runs (types of domains, row counts
/// of UPDATE and DELETE, the 10 MiB size, catalog-dependent ALTER TABLE rules, ...): the dry run
/// says so instead of pretending to know.
const std::vector<std::string>& server_checked_rules();

/// What to do with a statement that a stopped run had started but whose effect the catalog does
/// not show either way (an ALTER TABLE form with no observable postcondition, for one).
enum class uncertain_statement {
  refuse,       ///< stop and say how to decide (the default)
  applied,      ///< it was applied: record it and go on
  not_applied,  ///< it was not: run it again
};

/// One step of a run, as migrate_options::on_event receives it. A plain value, valid during the
/// call: `migration` points into the run's plan.
struct migrate_event {
  /// What happened.
  enum class type {
    waiting_for_lock,       ///< another run holds the lock; `detail` names it
    migration_started,      ///< a version starts (or resumes at first_statement)
    transaction_starting,   ///< statements first..last are about to run
    transaction_committed,  ///< statements first..last are committed (not yet recorded for DDL)
    job_submitted,          ///< an async statement's job is running; `job_id`
    job_finished,           ///< it succeeded
    migration_applied,      ///< the version is recorded as applied
    migration_skipped,      ///< already applied, checksum verified
  };
  type kind = type::migration_started;           ///< what happened
  const planned_migration* migration = nullptr;  ///< the migration concerned; nullptr for the lock
  std::size_t transaction = 0;           ///< the transaction's index in its migration's run, from 0
  std::size_t first_statement = 0;       ///< the first statement concerned (index in its file)
  std::size_t last_statement = 0;        ///< the last statement concerned (index in its file)
  std::string job_id;                    ///< the async job, for job_submitted and job_finished
  std::string detail;                    ///< for waiting_for_lock: the run that holds the lock
  std::chrono::milliseconds elapsed{0};  ///< of the transaction, job or migration that ended
};

/// How migrate() and plan_migrations() run. A plain value: copy it freely (on_event is called
/// on the migrating thread).
struct migrate_options {
  /// Apply versions up to and including this one; empty: all.
  std::string target_version;
  /// Plan against the cluster's history and return it; apply nothing, take no lock.
  bool dry_run = false;
  /// For every transaction and every statement that runs outside one.
  retry_options retry;
  /// Where the history and the lock live (created on first use, each in its own transaction).
  std::string history_table = "dsql_schema_history";
  /// The table of the lock that makes runs take turns (created on first use).
  std::string lock_table = "dsql_schema_lock";
  /// A run holds the lock for this long at a time and renews it at a third of it; a run that died
  /// is taken over once its lease ran out.
  std::chrono::seconds lock_lease{60};
  /// How long to wait for another run's lock before giving up.
  std::chrono::seconds lock_timeout{600};
  /// What to do with a statement a stopped run left uncertain (see uncertain_statement).
  uncertain_statement resolve = uncertain_statement::refuse;
  /// Called on the migrating thread. An exception from it stops the run at that point, as a
  /// crash would, except that the lock is released (tests inject failures this way).
  std::function<void(const migrate_event&)> on_event;
};

/// A migration that a call of migrate() applied, or finished applying. A plain value: copy it
/// freely.
struct applied_migration {
  std::string version;                    ///< its version, canonical
  std::string name;                       ///< its name, from the file name
  std::size_t statements = 0;             ///< run by this call
  std::size_t transactions = 0;           ///< transactions run by this call
  std::size_t jobs = 0;                   ///< async jobs waited for by this call
  std::chrono::milliseconds duration{0};  ///< how long this call took applying it
};

/// What a call of migrate() did. A plain value: copy it freely.
struct migrate_result {
  migration_plan plan;                            ///< the plan, with the cluster's progress
  std::vector<applied_migration> applied;         ///< by this call, in order
  std::size_t already_applied = 0;                ///< migrations found applied and skipped
  std::size_t statements = 0;                     ///< run by this call
  std::size_t transactions = 0;                   ///< run by this call
  std::size_t jobs = 0;                           ///< async jobs waited for by this call
  std::chrono::milliseconds total{0};             ///< how long the call took
  std::chrono::milliseconds in_statements{0};     ///< the files' statements, in their transactions
  std::chrono::milliseconds waiting_for_jobs{0};  ///< in sys.wait_for_job
  /// The tool's own share: total less the two above (history, lock, planning, checks).
  std::chrono::milliseconds overhead() const noexcept {
    return total - in_statements - waiting_for_jobs;
  }
};

/// Plans `directory` without a server: the files, their statements, transactions and waits, and
/// what DSQL is known to refuse. Throws migration_error for unreadable or unparsable files.
migration_plan plan_migrations(const std::string& directory, const migrate_options& options = {});

/// Applies the pending migrations of `directory` (or, with dry_run, plans them against the
/// history). Refuses before running anything when a pending statement is known to be refused,
/// when an applied migration's file changed, or when a new version is older than an applied one.
/// Throws migration_error (with file and line where there is one), or the error of the statement
/// that failed, wrapped in a migration_error that names it. Not thread-safe per call; any number
/// of calls (in this process or others) may run against one cluster at once: they take turns.
migrate_result migrate(pool& p, const std::string& directory, const migrate_options& options = {});
/// The same, each transaction on a new connection from the connector.
migrate_result migrate(connector& c, const std::string& directory,
                       const migrate_options& options = {});

}  // namespace dsql
