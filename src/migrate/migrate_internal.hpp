#pragma once

// What the migration planner and runner share: statements as libpg_query parsed them, what the
// runner needs to know about each beyond the public plan (how to tell after a crash whether it
// was applied), and the plan's transactions. I/O-free except for reading files.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsql/migrate.hpp"
#include "sql/sql_text.hpp"

namespace dsql::detail {

std::string canonical_version(std::string_view version);
// The migration_file for a file name (version, name), nullopt for names that are not
// migrations (no V, no .sql), migration_error for V...sql names that are malformed.
std::optional<migration_file> parse_migration_name(const std::string& file_name);
std::string read_migration_text(const std::string& path);

// One statement of a file, split and parsed by PostgreSQL 15's own grammar (libpg_query).
struct parsed_statement {
  std::size_t begin = 0;  // byte range in the file, from its first token to before its ';'
  std::size_t end = 0;
  std::size_t line = 0;
  std::string text;
  sql_text::async_keyword async;  // positions relative to `text`
  std::string node;               // the parse node's name: "CreateStmt", "InsertStmt", ...
  nlohmann::json tree;            // the node's fields
};

// Throws migration_error naming file and line for text PostgreSQL's grammar cannot parse.
std::vector<parsed_statement> parse_statements(std::string_view text, const std::string& file);
// 1-based line of byte `offset` in `text`.
std::size_t line_at(std::string_view text, std::size_t offset);

// How a restarted run tells whether a statement that a stopped run had started took effect.
struct applied_probe {
  std::string sql;  // one row, one boolean: true when the statement's effect is there
  std::vector<std::string> params;
};

struct statement_facts {
  migration_statement_kind kind = migration_statement_kind::ddl;
  std::optional<std::size_t> rows;
  std::string refusal;
  // Running it again is harmless (IF NOT EXISTS, IF EXISTS, GRANT, COMMENT, OR REPLACE, ...).
  bool idempotent = false;
  std::optional<applied_probe> probe;
  // CREATE INDEX ASYNC with a name: the index, quoted and qualified as written.
  std::string index_name;
};

statement_facts classify_statement(const parsed_statement& statement);
// The rules above that a parse tree alone decides, DSQL's refused statements included.
std::string known_refusal(const parsed_statement& statement);

// A migration with what the runner needs beside the public plan.
struct analysed_migration {
  planned_migration plan;
  std::vector<statement_facts> facts;  // one per statement
  // prefix_digest[n]: a digest of statements 0..n-1, so that a resumed run can tell that the
  // statements already applied are unchanged even when later ones were edited.
  std::vector<std::string> prefix_digest;
};

enum class step_kind { group, ddl, async_ddl, standalone };
struct plan_step {
  step_kind kind = step_kind::group;
  std::size_t first = 0;
  std::size_t last = 0;  // inclusive
};

// Rows of a DML transaction, leaving one for the history row that records it in the same
// transaction (DSQL: at most 3,000 modified rows per transaction).
inline constexpr std::size_t rows_per_transaction = 2999;
// Statement text per DML transaction: well inside DSQL's 10 MiB, which index entries share.
inline constexpr std::size_t sql_bytes_per_transaction = std::size_t{4} << 20;

// The transactions that run statements from..end of a migration (a resumed one starts late).
std::vector<plan_step> plan_steps(const analysed_migration& m, std::size_t from);
analysed_migration analyse_migration(const migration_file& file);
// The migrations of a directory up to options.target_version.
std::vector<analysed_migration> analyse_directory(const std::string& directory,
                                                  const migrate_options& options);

// Quotes an identifier for SQL: "name", with inner quotes doubled.
std::string quote_identifier(std::string_view name);
// history_table / lock_table options: [schema.]name of lowercase letters, digits and _.
std::string checked_table_name(const std::string& name, const char* option);

}  // namespace dsql::detail
