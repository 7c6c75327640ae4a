// Async jobs and resuming: waiting for CREATE INDEX ASYNC / ALTER TABLE ASYNC jobs (an index left
// INVALID is a failure, never accepted), and deciding, after a run stopped half-way, whether the
// statement it had started took effect.

#include <chrono>

#include "migrate/migrate_runner.hpp"
#include "util/printable.hpp"

namespace dsql {
namespace detail {
namespace {

using steady = std::chrono::steady_clock;

bool valid_job_id(const std::string& job) {
  if (job.size() != 26) return false;
  for (char c : job) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::chrono::milliseconds since(steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
}

}  // namespace

std::optional<bool> migration_runner::index_valid(const analysed_migration& m, std::size_t i,
                                                  const std::string& job) {
  if (m.plan.statements[i].kind != migration_statement_kind::async_ddl ||
      sql_text::find_async_keyword(m.plan.statements[i].sql).kind !=
          sql_text::async_kind::create_index) {
    return std::nullopt;
  }
  try {
    const std::string& name = m.facts[i].index_name;
    const result r =
        !name.empty()
            ? ex_.autocommit("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)",
                             {name})
        : !job.empty() ? ex_.autocommit(
                             "SELECT i.indisvalid FROM pg_index i JOIN sys.jobs j ON "
                             "j.object_id = i.indexrelid WHERE j.job_id = $1",
                             {job})
                       : result();
    if (r.rows() != 1) return std::nullopt;
    return r.value(0, 0) == "t";
  } catch (const sql_error&) {
    return std::nullopt;  // a catalog this cluster does not expose: the job's answer stands
  }
}

void migration_runner::fail_job(analysed_migration& m, std::size_t i, const std::string& job,
                                const std::string& why) {
  std::string details;
  if (!job.empty()) {
    try {
      const result r = ex_.autocommit(
          "SELECT status, coalesce(details, '') FROM sys.jobs WHERE job_id = $1", {job});
      if (r.rows() == 1) {
        details = " (job status " + std::string(r.value(0, 0)) +
                  (r.value(0, 1).empty() ? "" : ": " + util::printable(r.value(0, 1), 400)) + ")";
      }
    } catch (const sql_error&) {
    }
  }
  const bool index = sql_text::find_async_keyword(m.plan.statements[i].sql).kind ==
                     sql_text::async_kind::create_index;
  const std::string& name = m.facts[i].index_name;
  std::string what = why + details;
  if (index) {
    what += "; the index " + (name.empty() ? std::string("it created") : util::printable(name)) +
            " is left INVALID (pg_index.indisvalid is false): drop it" +
            (name.empty() ? "" : " (DROP INDEX " + util::printable(name) + ")") +
            ", fix the cause (for a unique index, the duplicate rows) and run dsql migrate "
            "again; it resumes at this statement";
  } else {
    what +=
        "; the constraint stays NOT VALID: fix the rows that break it and run dsql migrate "
        "again; it resumes at this statement";
  }
  history_.record_failure(m.plan.file.version, i, what);
  throw failure(m, i, what);
}

void migration_runner::finish_job(analysed_migration& m, std::size_t i, const std::string& job) {
  if (!valid_job_id(job)) {
    fail_job(m, i, {}, "the server answered with a malformed job id " + util::quoted(job));
  }
  emit(migrate_event::type::job_submitted, &m, 0, i, i, {}, job);
  const auto t0 = steady::now();
  // Outside any transaction block: DSQL refuses CALL sys.wait_for_job inside one.
  const result r = ex_.autocommit("CALL sys.wait_for_job('" + job + "')");
  result_.waiting_for_jobs += since(t0);
  const bool succeeded = r.rows() == 1 && r.value(0, 0) == "t";
  if (!succeeded) fail_job(m, i, job, "the job " + job + " of this statement failed");
  if (index_valid(m, i, job) == false) {
    fail_job(m, i, job, "the job " + job + " reported success but the index is not valid");
  }
  ++result_.jobs;
  emit(migrate_event::type::job_finished, &m, 0, i, i, since(t0), job);
}

std::size_t migration_runner::resolve_pending(analysed_migration& m, const history_row& row) {
  const std::string& v = m.plan.file.version;
  const std::size_t i = *row.pending_statement;
  if (i != row.applied || i >= m.plan.statements.size()) {
    if (!history_.clear_pending(v, i)) throw fenced(m);
    return row.applied;
  }
  const statement_facts& facts = m.facts[i];
  if (!row.pending_job.empty()) {
    // The statement committed and its job was recorded: wait for it if the cluster still
    // lists it (DSQL forgets finished jobs after a while), else judge by the index.
    const result known =
        ex_.autocommit("SELECT count(*) FROM sys.jobs WHERE job_id = $1", {row.pending_job});
    if (known.value(0, 0) != "0") {
      finish_job(m, i, row.pending_job);
    } else if (index_valid(m, i, {}) != true) {
      fail_job(m, i, {},
               "the job " + row.pending_job +
                   " of this statement is no longer listed in sys.jobs and the result cannot be "
                   "confirmed");
    }
    if (!history_.record_done(v, i, m.prefix_digest[i + 1], std::nullopt)) throw fenced(m);
    return i + 1;
  }
  bool applied = false;
  if (options_.resolve != uncertain_statement::refuse) {
    applied = options_.resolve == uncertain_statement::applied;
  } else if (facts.probe) {
    const result r = ex_.autocommit(facts.probe->sql, [&] {
      std::vector<std::optional<std::string>> p(facts.probe->params.begin(),
                                                facts.probe->params.end());
      return p;
    }());
    applied = r.rows() == 1 && r.value(0, 0) == "t";
  } else if (!facts.idempotent) {
    throw failure(m, i,
                  "a run that stopped had started this statement (" +
                      std::string(to_string(m.plan.statements[i].kind)) +
                      "), and the catalog cannot tell whether it took effect; check, then run "
                      "again with --resolve applied if it did, or --resolve not-applied to run it "
                      "again");
  }
  if (!applied) {
    if (!history_.clear_pending(v, i)) throw fenced(m);
    return i;
  }
  if (facts.kind == migration_statement_kind::async_ddl && index_valid(m, i, {}) == false) {
    // The index is there but not built: a job may still be building it.
    std::string job;
    try {
      const result r = ex_.autocommit(
          "SELECT job_id FROM sys.jobs WHERE object_id = to_regclass($1)::oid AND status IN "
          "('submitted', 'processing') LIMIT 1",
          {facts.index_name});
      if (r.rows() == 1) job = std::string(r.value(0, 0));
    } catch (const sql_error&) {
    }
    if (job.empty()) fail_job(m, i, {}, "the index exists but is INVALID and no job builds it");
    if (!history_.record_job(v, i, job)) throw fenced(m);
    finish_job(m, i, job);
  }
  if (!history_.record_done(v, i, m.prefix_digest[i + 1], std::nullopt)) throw fenced(m);
  return i + 1;
}

migration_error migration_runner::statement_failed(const analysed_migration& m, std::size_t i,
                                                   const std::exception& e) const {
  const auto& s = m.plan.statements[i];
  std::string what = std::string(to_string(s.kind)) + " statement failed: " + e.what();
  if (const auto* conflict = dynamic_cast<const occ_conflict_error*>(&e)) {
    what += " (gave up after " + std::to_string(conflict->attempts()) +
            " attempts; nothing of this transaction was applied; run dsql migrate again to "
            "resume here)";
  } else if (dynamic_cast<const connection_error*>(&e)) {
    what +=
        " (the connection broke; run dsql migrate again: it finds out whether the statement "
        "took effect and resumes)";
  } else if (const auto* sql = dynamic_cast<const sql_error*>(&e);
             sql && sql->sqlstate() == "42P07" && s.kind == migration_statement_kind::async_ddl) {
    what += " (if it is the INVALID index a failed build left, drop it first)";
  }
  return failure(m, i, what);
}

}  // namespace detail

migrate_result migrate(pool& p, const std::string& directory, const migrate_options& options) {
  auto ex = detail::pool_executor(p, options.retry);
  return detail::migration_runner(*ex, directory, options).run();
}

migrate_result migrate(connector& c, const std::string& directory, const migrate_options& options) {
  auto ex = detail::connector_executor(c, options.retry);
  return detail::migration_runner(*ex, directory, options).run();
}

}  // namespace dsql
