// dsql migrate: apply V<version>__<name>.sql files as DSQL takes them (see <dsql/migrate.hpp>),
// or print the plan with --dry-run.

#include <iostream>
#include <memory>

#include "commands.hpp"
#include "dsql/migrate.hpp"
#include "output_format.hpp"
#include "util/printable.hpp"

namespace dsql::cli {
namespace {

struct migrate_cli_options {
  endpoint_args endpoint;
  std::string dir;
  bool dry_run = false;
  std::string to;
  std::string resolve;
  int lock_lease = 60;
  int lock_timeout = 600;
  std::string history_table = "dsql_schema_history";
  std::string lock_table = "dsql_schema_lock";
};

std::string first_line(const std::string& sql) {
  const auto nl = sql.find('\n');
  std::string line = nl == std::string::npos ? sql : sql.substr(0, nl) + " ...";
  return util::printable(line, 72);
}

std::string kind_text(const planned_statement& s) {
  std::string k(to_string(s.kind));
  if (s.rows) k += " (" + thousands(*s.rows) + (*s.rows == 1 ? " row)" : " rows)");
  return k;
}

void print_plan(const migration_plan& plan) {
  std::cout << "Migrations in " << util::printable(plan.directory) << ":\n";
  if (plan.migrations.empty()) std::cout << "  none\n";
  for (const auto& m : plan.migrations) {
    std::cout << "V" << m.file.version << " " << util::printable(m.file.name) << " ("
              << util::printable(m.file.path) << "): ";
    if (m.applied) {
      std::cout << "applied\n";
      continue;
    }
    const std::size_t left = m.statements.size() - m.applied_statements;
    if (m.applied_statements > 0) {
      std::cout << "partly applied (" << m.applied_statements << " of " << m.statements.size()
                << " statements), resumes with " << left;
    } else {
      std::cout << "pending, " << left;
    }
    std::cout << (left == 1 ? " statement" : " statements") << " in " << m.transactions
              << (m.transactions == 1 ? " transaction\n" : " transactions\n");
    std::size_t shown = static_cast<std::size_t>(-1);
    for (std::size_t i = m.applied_statements; i < m.statements.size(); ++i) {
      const auto& s = m.statements[i];
      if (s.transaction != shown) {
        shown = s.transaction;
        std::cout << "  transaction " << s.transaction + 1
                  << (s.kind == migration_statement_kind::standalone
                          ? " (outside a transaction block):\n"
                          : ":\n");
      }
      std::string kind = kind_text(s);
      kind.resize(std::max<std::size_t>(kind.size(), 18), ' ');
      std::cout << "    line " << s.line << "  " << kind << " " << first_line(s.sql) << "\n";
      if (!s.refusal.empty()) {
        std::cout << "            refused: " << util::printable(s.refusal, 300) << "\n";
      } else if (s.kind == migration_statement_kind::async_ddl) {
        std::cout << "            then waits for its job: CALL sys.wait_for_job('<job id>'), "
                     "outside a transaction, and checks the result\n";
      }
    }
  }
  const auto refused = plan.refused();
  if (!refused.empty()) {
    std::cout << "Refused by DSQL (so nothing would run):\n";
    for (const auto& m : plan.migrations) {
      for (const auto& s : m.statements) {
        if (s.refusal.empty() || m.applied || s.index < m.applied_statements) continue;
        std::cout << "  " << util::printable(m.file.path) << ":" << s.line << ": "
                  << first_line(s.sql) << ": " << util::printable(s.refusal, 400) << "\n";
      }
    }
  }
  std::cout << "Checked only by the server, when a statement runs:\n";
  for (const auto& rule : server_checked_rules()) std::cout << "  - " << rule << "\n";
  for (const auto& note : plan.notes) std::cout << "Note: " << note << "\n";
}

void print_event(const migrate_event& e) {
  const planned_migration* m = e.migration;
  const auto name = [&] { return "V" + m->file.version + " " + util::printable(m->file.name); };
  switch (e.kind) {
    case migrate_event::type::waiting_for_lock:
      std::cout << "waiting for the migration lock, held by " << util::printable(e.detail)
                << std::endl;
      break;
    case migrate_event::type::migration_started:
      std::cout << name() << ": "
                << (e.first_statement
                        ? "resuming at statement " + std::to_string(e.first_statement + 1) + " of "
                        : std::string("applying "))
                << m->statements.size() << " statements" << std::endl;
      break;
    case migrate_event::type::transaction_committed: {
      const auto& s = m->statements[e.first_statement];
      std::cout << "  line " << s.line;
      if (e.last_statement != e.first_statement) {
        std::cout << "-" << m->statements[e.last_statement].line;
      }
      std::cout << " " << kind_text(s) << " committed (" << duration_text(e.elapsed) << ")"
                << std::endl;
      break;
    }
    case migrate_event::type::job_submitted:
      std::cout << "  line " << m->statements[e.first_statement].line << " waiting for job "
                << e.job_id << std::endl;
      break;
    case migrate_event::type::job_finished:
      std::cout << "  line " << m->statements[e.first_statement].line << " job " << e.job_id
                << " succeeded (" << duration_text(e.elapsed) << ")" << std::endl;
      break;
    case migrate_event::type::migration_applied:
      std::cout << name() << ": applied (" << duration_text(e.elapsed) << ")" << std::endl;
      break;
    case migrate_event::type::migration_skipped:
    case migrate_event::type::transaction_starting:
      break;
  }
}

void print_summary(const migrate_result& r) {
  std::cout << "Applied " << r.applied.size()
            << (r.applied.size() == 1 ? " migration" : " migrations");
  if (r.already_applied) std::cout << " (" << r.already_applied << " already applied)";
  std::cout << ": " << r.statements << " statements in " << r.transactions << " transactions, "
            << r.jobs << (r.jobs == 1 ? " job" : " jobs") << ", in " << duration_text(r.total)
            << " (statements " << duration_text(r.in_statements) << ", jobs "
            << duration_text(r.waiting_for_jobs) << ", dsql migrate "
            << duration_text(r.overhead());
  if (r.statements) {
    char per[32];
    std::snprintf(per, sizeof per, "%.2f",
                  static_cast<double>(r.overhead().count()) / static_cast<double>(r.statements));
    std::cout << ", " << per << " ms per statement";
  }
  std::cout << ")\n";
  for (const auto& note : r.plan.notes) std::cout << "Note: " << note << "\n";
}

void run_migrate(const migrate_cli_options& o) {
  if (o.dir.empty()) throw config_error("--dir is empty: give the directory of migration files");
  migrate_options options;
  options.target_version = o.to;
  options.dry_run = o.dry_run;
  if (o.resolve == "applied") {
    options.resolve = uncertain_statement::applied;
  } else if (o.resolve == "not-applied") {
    options.resolve = uncertain_statement::not_applied;
  } else if (!o.resolve.empty()) {
    throw config_error("--resolve " + util::quoted(o.resolve) +
                       " is not one of applied, not-applied");
  }
  if (o.lock_lease < 1 || o.lock_timeout < 0) {
    throw config_error("--lock-lease must be at least 1 and --lock-timeout not negative");
  }
  options.history_table = o.history_table;
  options.lock_table = o.lock_table;
  options.lock_lease = std::chrono::seconds(o.lock_lease);
  options.lock_timeout = std::chrono::seconds(o.lock_timeout);
  if (!o.dry_run) options.on_event = print_event;
  // Files are read and planned before connecting: a bad file is reported without a server.
  (void)plan_migrations(o.dir, options);

  pool_options po;
  po.max_size = 2;  // the migration, and the lock's heartbeat beside a long job wait
  std::string region_warning;
  pool p(endpoint_config(o.endpoint, region_warning), po);
  try {
    const migrate_result r = migrate(p, o.dir, options);
    if (o.dry_run) {
      print_plan(r.plan);
      const auto refused = r.plan.refused();
      std::size_t pending_refusals = 0;
      for (const auto& m : r.plan.migrations) {
        for (const auto& s : m.statements) {
          pending_refusals += !s.refusal.empty() && !m.applied && s.index >= m.applied_statements;
        }
      }
      if (pending_refusals) {
        throw migration_error(std::to_string(pending_refusals) + " statement" +
                              (pending_refusals == 1 ? "" : "s") +
                              " would be refused by DSQL (listed above)");
      }
      print_warning(region_warning);
      return;
    }
    print_summary(r);
    print_warning(region_warning);
  } catch (...) {
    std::cout.flush();
    throw;
  }
}

}  // namespace

void register_migrate_command(CLI::App& app, const global_options& /*globals*/) {
  auto opts = std::make_shared<migrate_cli_options>();
  CLI::App* cmd = app.add_subcommand(
      "migrate",
      "Apply V<version>__<name>.sql migrations the way DSQL takes them: one DDL statement per "
      "transaction, DML in transactions of at most 3,000 rows, async index jobs waited for, "
      "resumable, one run at a time");
  add_endpoint_options(cmd, opts->endpoint);
  cmd->add_option("--dir", opts->dir, "Directory of V<version>__<name>.sql files")->required();
  cmd->add_flag("--dry-run", opts->dry_run,
                "Print the plan (statements, transactions, waits, known refusals); apply nothing");
  cmd->add_option("--to", opts->to, "Apply versions up to and including this one");
  cmd->add_option("--resolve", opts->resolve,
                  "For a statement a stopped run had started whose effect the catalog cannot "
                  "show: applied or not-applied");
  cmd->add_option("--lock-lease", opts->lock_lease,
                  "Seconds the migration lock is held between renewals; a dead run's lock is "
                  "free after this")
      ->capture_default_str();
  cmd->add_option("--lock-timeout", opts->lock_timeout, "Seconds to wait for another run's lock")
      ->capture_default_str();
  cmd->add_option("--history-table", opts->history_table,
                  "Table of applied versions ([schema.]name; created on first use)")
      ->capture_default_str();
  cmd->add_option("--lock-table", opts->lock_table,
                  "Table of the lock row that keeps runs from overlapping")
      ->capture_default_str();
  cmd->callback([opts] { run_migrate(*opts); });
}

}  // namespace dsql::cli
