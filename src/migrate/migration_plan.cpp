// From files to transactions: each DDL statement alone, DML grouped within the row limit, async
// statements followed by a wait for their job. I/O-free apart from reading the files.

#include "dsql/migrate.hpp"
#include "migrate/migrate_internal.hpp"
#include "sigv4/sigv4.hpp"
#include "util/printable.hpp"

namespace dsql {
namespace detail {
namespace {

bool groupable(migration_statement_kind k) {
  return k == migration_statement_kind::dml || k == migration_statement_kind::query;
}

std::string thousands(std::size_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

std::vector<plan_step> plan_steps(const analysed_migration& m, std::size_t from) {
  std::vector<plan_step> steps;
  const auto& st = m.plan.statements;
  std::size_t i = from;
  while (i < st.size()) {
    const auto kind = st[i].kind;
    if (!groupable(kind)) {
      steps.push_back({kind == migration_statement_kind::ddl         ? step_kind::ddl
                       : kind == migration_statement_kind::async_ddl ? step_kind::async_ddl
                                                                     : step_kind::standalone,
                       i, i});
      ++i;
      continue;
    }
    // A group: DML whose rows are known, up to the limit; a statement whose rows are not known
    // alone with the reads around it (it may write up to the limit by itself).
    std::size_t rows = 0, bytes = 0, j = i;
    bool has_dml = false, unknown = false;
    for (; j < st.size() && groupable(st[j].kind); ++j) {
      const std::size_t size = st[j].sql.size();
      if (j > i && bytes + size > sql_bytes_per_transaction) break;
      if (st[j].kind == migration_statement_kind::dml) {
        if (!st[j].rows) {
          if (has_dml) break;
          unknown = true;
        } else if (unknown || (has_dml && rows + *st[j].rows > rows_per_transaction)) {
          break;
        } else {
          rows += *st[j].rows;
        }
        has_dml = true;
      }
      bytes += size;
    }
    steps.push_back({step_kind::group, i, j - 1});
    i = j;
  }
  return steps;
}

analysed_migration analyse_migration(const migration_file& file) {
  analysed_migration m;
  m.plan.file = file;
  const std::string text = read_migration_text(file.path);
  // The checksum of the text planned, even if the file changed since it was listed.
  m.plan.file.checksum = sigv4::sha256_hex(text);
  const std::vector<parsed_statement> parsed = parse_statements(text, file.path);
  std::string chain;
  m.prefix_digest.push_back(sigv4::sha256_hex(chain));
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    statement_facts facts = classify_statement(parsed[i]);
    planned_statement p;
    p.index = i;
    p.line = parsed[i].line;
    p.sql = parsed[i].text;
    p.kind = facts.kind;
    p.rows = facts.rows;
    p.refusal = facts.refusal;
    if (p.refusal.empty() && p.rows && *p.rows > rows_per_transaction) {
      p.refusal = "it writes " + thousands(*p.rows) +
                  " rows, and a transaction may write at most 3,000 (one of them is dsql "
                  "migrate's record of the statement): split it into INSERTs of at most " +
                  thousands(rows_per_transaction) + " rows";
    }
    chain += sigv4::sha256_hex(p.sql);
    m.prefix_digest.push_back(sigv4::sha256_hex(chain));
    m.plan.statements.push_back(std::move(p));
    m.facts.push_back(std::move(facts));
  }
  const auto steps = plan_steps(m, 0);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    for (std::size_t i = steps[s].first; i <= steps[s].last; ++i)
      m.plan.statements[i].transaction = s;
  }
  m.plan.transactions = steps.size();
  return m;
}

std::string checked_table_name(const std::string& name, const char* option) {
  bool ok = !name.empty() && name.front() != '.' && name.back() != '.';
  int dots = 0;
  for (std::size_t i = 0; ok && i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      ok = ++dots == 1 && name[i + 1] != '.' && !(name[i + 1] >= '0' && name[i + 1] <= '9');
    } else {
      ok = (c >= 'a' && c <= 'z') || c == '_' ||
           (c >= '0' && c <= '9' && i > 0 && name[i - 1] != '.');
    }
  }
  if (!ok) {
    throw migration_error(std::string("migrate_options.") + option + " " + util::quoted(name) +
                          " must be a table name of lowercase letters, digits and _, optionally "
                          "after a schema name and a dot");
  }
  return name;
}

std::vector<analysed_migration> analyse_directory(const std::string& directory,
                                                  const migrate_options& options) {
  std::vector<analysed_migration> out;
  for (const migration_file& f : find_migrations(directory)) {
    if (!options.target_version.empty() &&
        compare_versions(f.version, options.target_version) > 0) {
      break;
    }
    out.push_back(analyse_migration(f));
  }
  return out;
}

}  // namespace detail

std::string_view to_string(migration_statement_kind kind) noexcept {
  switch (kind) {
    case migration_statement_kind::ddl:
      return "DDL";
    case migration_statement_kind::async_ddl:
      return "async DDL";
    case migration_statement_kind::dml:
      return "DML";
    case migration_statement_kind::query:
      return "query";
    case migration_statement_kind::standalone:
      return "standalone";
  }
  return "?";
}

std::vector<const planned_statement*> migration_plan::refused() const {
  std::vector<const planned_statement*> out;
  for (const auto& m : migrations) {
    for (const auto& s : m.statements) {
      if (!s.refusal.empty()) out.push_back(&s);
    }
  }
  return out;
}

migration_plan plan_migrations(const std::string& directory, const migrate_options& options) {
  if (!options.target_version.empty()) (void)compare_versions(options.target_version, "0");
  migration_plan plan;
  plan.directory = directory;
  for (auto& m : detail::analyse_directory(directory, options)) {
    plan.migrations.push_back(std::move(m.plan));
  }
  return plan;
}

}  // namespace dsql
