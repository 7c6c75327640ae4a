// What each parsed statement is to dsql migrate (DDL, async DDL, DML, query, standalone), how
// many rows it writes when the text says, and how a restarted run can tell whether it was
// applied. Refusals known without a server are in known_refusals.cpp.

#include <algorithm>

#include "migrate/json_tree.hpp"
#include "migrate/migrate_internal.hpp"

namespace dsql::detail {
namespace {

using nlohmann::json;

bool has_modifying_cte(const json& node) {
  const json* with = child(node, "withClause");
  if (!with) return false;
  for (const auto& cte : list(*with, "ctes")) {
    const json* query = child(field(cte, "CommonTableExpr"), "ctequery");
    if (!query) continue;
    const std::string kind = node_name(*query);
    if (kind == "InsertStmt" || kind == "UpdateStmt" || kind == "DeleteStmt") return true;
  }
  return false;
}

// Rows an INSERT writes when the statement says: its VALUES lists, or 1 for DEFAULT VALUES.
std::optional<std::size_t> insert_rows(const json& insert) {
  if (has_modifying_cte(insert)) return std::nullopt;
  const json* select = child(insert, "selectStmt");
  if (!select) return 1;
  const json& s = field(*select, "SelectStmt");
  if (s.is_null() || has_modifying_cte(s)) return std::nullopt;
  const json& values = list(s, "valuesLists");
  if (values.empty()) return std::nullopt;
  return values.size();
}

applied_probe relation_probe(const std::vector<std::string>& names, bool exists) {
  applied_probe p;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) p.sql += " AND ";
    p.sql += "to_regclass($" + std::to_string(i + 1) + ") IS " + (exists ? "NOT NULL" : "NULL");
    p.params.push_back(names[i]);
  }
  p.sql = "SELECT " + p.sql;
  return p;
}

applied_probe namespace_probe(const std::vector<std::string>& names, bool exists) {
  applied_probe p;
  p.sql = std::string("SELECT ") + (exists ? "" : "NOT ") +
          "EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ANY ($1::text[]))";
  std::string array = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    array += (i ? "," : "") + quote_identifier(names[i]);
  }
  p.params.push_back(array + "}");
  return p;
}

applied_probe column_probe(const std::string& table, const std::string& column, bool exists) {
  return {std::string("SELECT ") + (exists ? "" : "NOT ") +
              "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND "
              "attname = $2 AND NOT attisdropped)",
          {table, column}};
}

// A DROP's objects as qualified names (each a list of name parts).
std::vector<std::string> dropped_relations(const json& drop) {
  std::vector<std::string> out;
  for (const auto& object : list(drop, "objects")) {
    out.push_back(qualified_name(string_list(field(object, "List"), "items")));
  }
  return out;
}

void classify_drop(const json& t, statement_facts& f) {
  const std::string type = text(t, "removeType");
  if (flag(t, "missing_ok")) {
    f.idempotent = true;
  } else if (type == "OBJECT_TABLE" || type == "OBJECT_VIEW" || type == "OBJECT_INDEX" ||
             type == "OBJECT_SEQUENCE") {
    f.probe = relation_probe(dropped_relations(t), false);
  } else if (type == "OBJECT_SCHEMA") {
    std::vector<std::string> names;
    for (const auto& object : list(t, "objects")) names.push_back(string_value(object));
    f.probe = namespace_probe(names, false);
  }
}

// ALTER TABLE forms that change nothing when run twice, and single-column adds and drops,
// whose effect the catalog shows.
void classify_alter_table(const json& t, statement_facts& f) {
  const json& cmds = list(t, "cmds");
  const std::string table = range_var_name(field(t, "relation"));
  bool all_idempotent = !cmds.empty();
  for (const auto& c : cmds) {
    const json& cmd = field(c, "AlterTableCmd");
    const std::string sub = text(cmd, "subtype");
    const bool guarded = flag(cmd, "missing_ok");
    all_idempotent = all_idempotent && (guarded || sub == "AT_ColumnDefault" ||
                                        sub == "AT_DropNotNull" || sub == "AT_SetStorage" ||
                                        sub == "AT_ChangeOwner" || sub == "AT_ValidateConstraint");
  }
  if (all_idempotent || flag(t, "missing_ok")) {
    f.idempotent = true;
    return;
  }
  if (cmds.size() != 1) return;
  const json& cmd = field(cmds[0], "AlterTableCmd");
  const std::string sub = text(cmd, "subtype");
  if (sub == "AT_AddColumn") {
    f.probe = column_probe(table, text(field(field(cmd, "def"), "ColumnDef"), "colname"), true);
  } else if (sub == "AT_DropColumn") {
    f.probe = column_probe(table, text(cmd, "name"), false);
  }
}

void classify_ddl(const parsed_statement& s, statement_facts& f) {
  const json& t = s.tree;
  const std::string& n = s.node;
  const bool if_not_exists = flag(t, "if_not_exists");
  if (n == "CreateStmt" || n == "CreateSeqStmt") {
    f.idempotent = if_not_exists;
    const json& relation = field(t, n == "CreateStmt" ? "relation" : "sequence");
    if (!if_not_exists) f.probe = relation_probe({range_var_name(relation)}, true);
  } else if (n == "ViewStmt") {
    f.idempotent = flag(t, "replace");
    if (!f.idempotent) f.probe = relation_probe({range_var_name(field(t, "view"))}, true);
  } else if (n == "IndexStmt") {
    f.idempotent = if_not_exists;
    const std::string name = text(t, "idxname");
    if (!name.empty()) {
      const json& relation = field(t, "relation");
      const std::string schema = text(relation, "schemaname");
      f.index_name =
          (schema.empty() ? "" : quote_identifier(schema) + ".") + quote_identifier(name);
      f.probe = relation_probe({f.index_name}, true);
    }
  } else if (n == "CreateSchemaStmt") {
    f.idempotent = if_not_exists;
    f.probe = namespace_probe({text(t, "schemaname")}, true);
  } else if (n == "DropStmt") {
    classify_drop(t, f);
  } else if (n == "AlterTableStmt") {
    classify_alter_table(t, f);
  } else if (n == "CreateRoleStmt") {
    f.probe = applied_probe{"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
                            {text(t, "role")}};
  } else if (n == "GrantStmt" || n == "GrantRoleStmt" || n == "CommentStmt" ||
             n == "AlterDefaultPrivilegesStmt") {
    f.idempotent = true;
  } else if (n == "CreateFunctionStmt") {
    f.idempotent = flag(t, "replace");
  }
}

}  // namespace

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

statement_facts classify_statement(const parsed_statement& s) {
  statement_facts f;
  const std::string& n = s.node;
  const json& t = s.tree;
  if (s.async.kind != sql_text::async_kind::none) {
    f.kind = migration_statement_kind::async_ddl;
    classify_ddl(s, f);
  } else if (n == "InsertStmt") {
    f.kind = migration_statement_kind::dml;
    f.rows = insert_rows(t);
  } else if (n == "UpdateStmt" || n == "DeleteStmt" || n == "MergeStmt" || n == "CopyStmt") {
    f.kind = migration_statement_kind::dml;
  } else if (n == "SelectStmt") {
    f.kind = has_modifying_cte(t) ? migration_statement_kind::dml : migration_statement_kind::query;
  } else if (n == "ExplainStmt" || n == "VariableShowStmt") {
    f.kind = migration_statement_kind::query;
  } else if (n == "CallStmt" || n == "VacuumStmt") {
    // CALL (DSQL has only its sys procedures, such as sys.wait_for_job) and ANALYZE run
    // outside a transaction block, and running them again is harmless.
    f.kind = migration_statement_kind::standalone;
    f.idempotent = true;
  } else if (n == "TransactionStmt" || n == "VariableSetStmt") {
    f.kind = migration_statement_kind::standalone;
  } else {
    f.kind = migration_statement_kind::ddl;
    classify_ddl(s, f);
  }
  f.refusal = known_refusal(s);
  return f;
}

}  // namespace dsql::detail
