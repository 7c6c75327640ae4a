// Applying a plan: checks against the cluster's history, then each pending migration statement
// by statement, recorded as it goes (DML groups in the same transaction as their record; a DDL
// statement between an intent record and a done record, since DSQL keeps DDL and DML apart).

#include <libpq-fe.h>

#include <chrono>

#include "migrate/history.hpp"
#include "migrate/migrate_internal.hpp"
#include "migrate/migrate_runner.hpp"
#include "util/printable.hpp"

namespace dsql::detail {
namespace {

using steady = std::chrono::steady_clock;

std::chrono::milliseconds since(steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
}

std::string summary(const std::string& sql) {
  const auto nl = sql.find('\n');
  return util::quoted(nl == std::string::npos ? sql : sql.substr(0, nl) + " ...");
}

}  // namespace

migration_runner::migration_runner(migrate_executor& ex, const std::string& directory,
                                   const migrate_options& options)
    : ex_(ex), options_(options), history_(ex, options), directory_(directory) {
  if (options.lock_lease < std::chrono::seconds(1)) {
    throw migration_error("migrate_options.lock_lease must be at least 1 second");
  }
  if (!options.target_version.empty()) (void)compare_versions(options.target_version, "0");
  validate(options.retry);
}

std::string migration_runner::where(const analysed_migration& m, std::size_t i) const {
  return util::printable(m.plan.file.path) + ":" + std::to_string(m.plan.statements[i].line);
}

migration_error migration_runner::failure(const analysed_migration& m, std::size_t i,
                                          const std::string& why) const {
  return migration_error(where(m, i) + ": " + why, m.plan.file.path, m.plan.statements[i].line,
                         m.plan.file.version);
}

migration_error migration_runner::fenced(const analysed_migration& m) const {
  return migration_error("another dsql migrate run recorded progress on " +
                             util::printable(m.plan.file.path) +
                             " meanwhile; this run stopped without applying anything more; run "
                             "again to continue from what is recorded",
                         m.plan.file.path, 0, m.plan.file.version);
}

void migration_runner::emit(migrate_event::type kind, const analysed_migration* m,
                            std::size_t transaction, std::size_t first, std::size_t last,
                            std::chrono::milliseconds elapsed, const std::string& job) {
  if (!options_.on_event) return;
  migrate_event e;
  e.kind = kind;
  e.migration = m ? &m->plan : nullptr;
  e.transaction = transaction;
  e.first_statement = first;
  e.last_statement = last;
  e.elapsed = elapsed;
  e.job_id = job;
  options_.on_event(e);
}

void migration_runner::check_history(const std::map<std::string, history_row>& rows) {
  std::string highest;  // the highest version any run has started
  for (const auto& [version, row] : rows) {
    if (highest.empty() || compare_versions(version, highest) > 0) highest = version;
  }
  notes_.clear();
  for (const auto& [version, row] : rows) {
    const bool known = std::any_of(migrations_.begin(), migrations_.end(),
                                   [&](const auto& m) { return m.plan.file.version == version; });
    if (!known && (options_.target_version.empty() ||
                   compare_versions(version, options_.target_version) <= 0)) {
      notes_.push_back("version " + util::printable(row.version) + " (" +
                       util::printable(row.name) + ") is in the cluster's history (" + row.state +
                       ") but has no file in " + util::quoted(directory_));
    }
  }
  for (auto& m : migrations_) {
    const std::string& path = m.plan.file.path;
    const auto it = rows.find(m.plan.file.version);
    if (it == rows.end()) {
      if (!highest.empty() && compare_versions(m.plan.file.version, highest) < 0) {
        throw migration_error(
            util::printable(path) + ": version " + m.plan.file.version + " is older than version " +
                highest +
                ", which the cluster's history already has: migrations apply in version order; "
                "give this file a version after " +
                highest,
            path, 0, m.plan.file.version);
      }
      continue;
    }
    const history_row& row = it->second;
    if (row.state == "applied" && row.applied == row.statements) {
      if (row.checksum != m.plan.file.checksum) {
        throw migration_error(
            util::printable(path) + ": version " + m.plan.file.version + " was applied" +
                (row.finished_at.empty() ? "" : " on " + row.finished_at) +
                " from a file with checksum " + row.checksum.substr(0, 12) +
                "..., and the file has changed since (checksum " +
                m.plan.file.checksum.substr(0, 12) +
                "...): an applied migration must not change; restore the file and put the "
                "change in a new version",
            path, 0, m.plan.file.version);
      }
      m.plan.applied = true;
      m.plan.applied_statements = m.plan.statements.size();
      continue;
    }
    if (row.applied > m.plan.statements.size() ||
        m.prefix_digest[row.applied] != row.applied_digest) {
      throw migration_error(
          util::printable(path) + ": the first " + std::to_string(row.applied) +
              " statements of version " + m.plan.file.version +
              " are applied, and the file has changed among them: restore them; only "
              "statements not yet applied may change",
          path, 0, m.plan.file.version);
    }
    m.plan.applied_statements = row.applied;
  }
}

void migration_runner::check_refusals() const {
  std::string list;
  std::optional<migration_error> first_error;
  std::size_t count = 0;
  for (const auto& m : migrations_) {
    if (m.plan.applied) continue;
    for (std::size_t i = m.plan.applied_statements; i < m.plan.statements.size(); ++i) {
      const auto& s = m.plan.statements[i];
      if (s.refusal.empty()) continue;
      if (!first_error) first_error = failure(m, i, s.refusal);
      list += "\n  " + where(m, i) + ": " + summary(s.sql) + ": " + util::printable(s.refusal, 400);
      ++count;
    }
  }
  if (!first_error) return;
  throw migration_error(std::to_string(count) + " statement" + (count == 1 ? "" : "s") +
                            " would be refused by DSQL; nothing was applied:" + list,
                        first_error->file(), first_error->line(), first_error->version());
}

void migration_runner::number_transactions() {
  for (auto& m : migrations_) {
    const auto steps =
        plan_steps(m, m.plan.applied ? m.plan.statements.size() : m.plan.applied_statements);
    for (std::size_t s = 0; s < steps.size(); ++s) {
      for (std::size_t i = steps[s].first; i <= steps[s].last; ++i) {
        m.plan.statements[i].transaction = s;
      }
    }
    m.plan.transactions = steps.size();
  }
}

migrate_result migration_runner::run() {
  const auto start = steady::now();
  migrations_ = analyse_directory(directory_, options_);
  const bool has_history = history_.exists();
  if (has_history) check_history(history_.read());
  if (!options_.dry_run) check_refusals();
  if (options_.dry_run) {
    if (!has_history) notes_.push_back("the cluster has no migration history yet: all is pending");
  } else {
    if (!has_history) history_.create();
    migration_lock lock(ex_, options_);
    lock_ = &lock;
    const auto rows = history_.read();  // what other runs did before we got the lock
    check_history(rows);
    check_refusals();
    for (auto& m : migrations_) {
      if (m.plan.applied) {
        ++result_.already_applied;
        emit(migrate_event::type::migration_skipped, &m, 0, 0, 0, {}, {});
        continue;
      }
      const auto it = rows.find(m.plan.file.version);
      apply(m, it == rows.end() ? nullptr : &it->second);
    }
    lock_ = nullptr;
  }
  number_transactions();
  result_.plan.directory = directory_;
  result_.plan.notes = notes_;
  for (const auto& m : migrations_) result_.plan.migrations.push_back(m.plan);
  result_.total = since(start);
  return std::move(result_);
}

void migration_runner::apply(analysed_migration& m, const history_row* row) {
  const auto start = steady::now();
  const std::string& v = m.plan.file.version;
  const std::size_t n = m.plan.statements.size();
  std::size_t k = row ? row->applied : 0;
  emit(migrate_event::type::migration_started, &m, 0, k, k, {}, {});
  if (!row) {
    if (!history_.start(m.plan.file, n, m.prefix_digest[0], "dsql migrate")) throw fenced(m);
  } else if (row->checksum != m.plan.file.checksum || row->statements != n) {
    if (!history_.update_file(m.plan.file, n, k)) throw fenced(m);
  }
  if (row && row->pending_statement) k = resolve_pending(m, *row);

  applied_migration done;
  done.version = v;
  done.name = m.plan.file.name;
  const std::size_t statements_before = result_.statements, jobs_before = result_.jobs;
  const auto steps = plan_steps(m, k);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    lock_->check();
    const bool last = s + 1 == steps.size();
    if (steps[s].kind == step_kind::group) {
      run_group(m, s, steps[s], last, start);
    } else {
      run_single(m, s, steps[s], last, start);
    }
    ++done.transactions;
  }
  if (steps.empty()) {
    // Nothing left to run (an empty file, or a resumed one whose last statement was applied):
    // only the record that the version is complete.
    ex_.transaction([&](connection& c) {
      if (!history_.record_group(c, v, k, k, m.prefix_digest[k], since(start).count())) {
        throw fenced(m);
      }
    });
  }
  done.statements = result_.statements - statements_before;
  done.jobs = result_.jobs - jobs_before;
  done.duration = since(start);
  m.plan.applied = true;
  m.plan.applied_statements = n;
  emit(migrate_event::type::migration_applied, &m, 0, 0, n ? n - 1 : 0, done.duration, {});
  result_.applied.push_back(std::move(done));
}

void migration_runner::run_group(analysed_migration& m, std::size_t index, const plan_step& step,
                                 bool last, steady::time_point started) {
  const std::string& v = m.plan.file.version;
  emit(migrate_event::type::transaction_starting, &m, index, step.first, step.last, {}, {});
  const auto t0 = steady::now();
  std::size_t current = step.first;
  try {
    ex_.transaction([&](connection& c) {
      for (std::size_t i = step.first; i <= step.last; ++i) {
        current = i;
        c.exec(m.plan.statements[i].sql);
      }
      const std::optional<long long> done_ms =
          last ? std::optional<long long>(since(started).count()) : std::nullopt;
      if (!history_.record_group(c, v, step.first, step.last + 1, m.prefix_digest[step.last + 1],
                                 done_ms)) {
        throw fenced(m);
      }
    });
  } catch (const migration_error&) {
    throw;
  } catch (const std::exception& e) {
    history_.record_failure(v, step.first, e.what());
    throw statement_failed(m, current, e);
  }
  // The statements' own transaction, COMMIT included (its history row rides along in it).
  result_.in_statements += since(t0);
  result_.statements += step.last - step.first + 1;
  ++result_.transactions;
  emit(migrate_event::type::transaction_committed, &m, index, step.first, step.last, since(t0), {});
}

std::string migration_runner::job_of(const result& r) {
  const int column = PQfnumber(r.raw(), "job_id");
  if (column < 0 || r.rows() != 1 || r.is_null(0, static_cast<std::size_t>(column))) return {};
  return std::string(r.value(0, static_cast<std::size_t>(column)));
}

void migration_runner::run_single(analysed_migration& m, std::size_t index, const plan_step& step,
                                  bool last, steady::time_point started) {
  const std::string& v = m.plan.file.version;
  const std::size_t i = step.first;
  const std::string& sql = m.plan.statements[i].sql;
  if (!history_.mark_pending(v, i)) throw fenced(m);
  emit(migrate_event::type::transaction_starting, &m, index, i, i, {}, {});
  const auto t0 = steady::now();
  result r;
  try {
    if (step.kind == step_kind::standalone) {
      r = ex_.autocommit(sql);
    } else {
      ex_.transaction([&](connection& c) { r = c.exec(sql); });
    }
  } catch (const connection_error& e) {
    // The connection broke: the statement may or may not have committed. The intent record
    // stays, and the next run finds out from the catalog.
    throw statement_failed(m, i, e);
  } catch (const std::exception& e) {
    history_.record_failure(v, i, e.what());
    throw statement_failed(m, i, e);
  }
  result_.in_statements += since(t0);
  emit(migrate_event::type::transaction_committed, &m, index, i, i, since(t0), {});
  if (step.kind == step_kind::async_ddl) {
    const std::string job = job_of(r);
    if (!job.empty()) {
      if (!history_.record_job(v, i, job)) throw fenced(m);
      finish_job(m, i, job);
    } else if (index_valid(m, i, {}) == false) {
      fail_job(m, i, {}, "the index exists but is INVALID and no job builds it");
    }
  }
  const std::optional<long long> done_ms =
      last ? std::optional<long long>(since(started).count()) : std::nullopt;
  if (!history_.record_done(v, i, m.prefix_digest[i + 1], done_ms)) throw fenced(m);
  result_.statements += 1;
  ++result_.transactions;
}

}  // namespace dsql::detail
