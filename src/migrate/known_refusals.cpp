// What DSQL refuses that a parse tree alone decides, in DSQL's words (the same words dsql local's
// dsql_rules library answers with): the statements DSQL refuses outright (the shared list in
// local/extension/refused_statements.h), CREATE INDEX without ASYNC, serial and unsupported
// built-in column types, identity and sequence caches, ALTER TABLE forms, query clauses and
// functions. Rules that need the catalog (domains, the table's keys, row counts) are left to the
// server; server_checked_rules() names them.

#include <algorithm>
#include <cstring>
#include <map>

#include "migrate/json_tree.hpp"
#include "migrate/migrate_internal.hpp"

namespace dsql::detail {
namespace {

using nlohmann::json;

const char* refused_statement_name(const std::string& node) {
  struct entry {
    const char* node;
    const char* name;
  };
  static const entry refused[] = {
#define DSQL_REFUSED_STATEMENT(node, name) {#node, name},
#include "local/extension/refused_statements.h"
#undef DSQL_REFUSED_STATEMENT
  };
  for (const auto& e : refused) {
    if (node == e.node) return e.name;
  }
  return nullptr;
}

constexpr const char* cache_hint =
    "please define CACHE greater than or equal to 65536 or equal to 1";

// DSQL's column types, by PostgreSQL's internal name, and how PostgreSQL displays each.
const std::map<std::string, std::string>& supported_types() {
  static const std::map<std::string, std::string> types{
      {"int2", "smallint"},
      {"int4", "integer"},
      {"int8", "bigint"},
      {"float4", "real"},
      {"float8", "double precision"},
      {"numeric", "numeric"},
      {"bpchar", "character"},
      {"varchar", "character varying"},
      {"text", "text"},
      {"date", "date"},
      {"time", "time without time zone"},
      {"timetz", "time with time zone"},
      {"timestamp", "timestamp without time zone"},
      {"timestamptz", "timestamp with time zone"},
      {"interval", "interval"},
      {"bool", "boolean"},
      {"bytea", "bytea"},
      {"uuid", "uuid"},
      {"json", "json"},
      {"jsonb", "jsonb"},
  };
  return types;
}

// Built-in types DSQL refuses as columns, as PostgreSQL displays them. Any other name may be a
// domain or a type DSQL lacks: only the server knows.
const std::map<std::string, std::string>& unsupported_types() {
  static const std::map<std::string, std::string> types{
      {"money", "money"},         {"xml", "xml"},
      {"inet", "inet"},           {"cidr", "cidr"},
      {"macaddr", "macaddr"},     {"macaddr8", "macaddr8"},
      {"point", "point"},         {"line", "line"},
      {"lseg", "lseg"},           {"box", "box"},
      {"path", "path"},           {"polygon", "polygon"},
      {"circle", "circle"},       {"tsvector", "tsvector"},
      {"tsquery", "tsquery"},     {"bit", "bit"},
      {"varbit", "bit varying"},  {"pg_lsn", "pg_lsn"},
      {"int4range", "int4range"}, {"int8range", "int8range"},
      {"numrange", "numrange"},   {"tsrange", "tsrange"},
      {"tstzrange", "tstzrange"}, {"daterange", "daterange"},
      {"jsonpath", "jsonpath"},   {"txid_snapshot", "txid_snapshot"},
  };
  return types;
}

// The type's last name part, and whether it is one of PostgreSQL's built-in spellings.
std::string type_name(const json& type) {
  const auto names = string_list(type, "names");
  if (names.empty()) return {};
  if (names.size() == 2 && names[0] != "pg_catalog") return {};  // another schema: a user type
  if (names.size() > 2) return {};
  return names.back();
}

// serial is a parser macro in PostgreSQL; DSQL has none, so it is an unknown type (42704).
std::string check_serial(const json& type) {
  static const char* const serials[] = {"serial",  "serial2",   "serial4",
                                        "serial8", "bigserial", "smallserial"};
  const auto names = string_list(type, "names");
  if (names.size() != 1 || !list(type, "arrayBounds").empty()) return {};
  for (const char* s : serials) {
    if (names[0] == s) return "type \"" + names[0] + "\" does not exist";
  }
  return {};
}

std::string check_type(const json& type) {
  const std::string name = type_name(type);
  std::string display;
  if (auto it = supported_types().find(name); it != supported_types().end()) {
    if (list(type, "arrayBounds").empty()) return {};
    display = it->second;
  } else if (auto bad = unsupported_types().find(name); bad != unsupported_types().end()) {
    display = bad->second;
  } else {
    return {};
  }
  if (!list(type, "arrayBounds").empty()) display += "[]";
  return "datatype " + display + " not supported";
}

std::string check_sequence_options(const json& options, bool identity) {
  long long cache = 0;
  bool found = false;
  for (const auto& o : options) {
    const json& def = field(o, "DefElem");
    if (text(def, "defname") == "cache") {
      found = true;
      cache = integer_argument(def);
    }
  }
  if (found && (cache == 1 || cache >= 65536)) return {};
  return std::string(identity ? "identity column is not supported without an explicit cache size. "
                              : "CREATE SEQUENCE is not supported without an explicit cache "
                                "size. ") +
         cache_hint;
}

std::string check_column(const json& column, bool alter_table) {
  const json& type = field(column, "typeName");
  if (std::string r = check_serial(type); !r.empty()) return r;
  if (child(column, "collClause")) return "COLLATE clause not supported";
  if (alter_table && !list(column, "constraints").empty()) {
    return "ALTER TABLE ADD COLUMN with constraint not supported";
  }
  if (!type.is_null()) {
    if (std::string r = check_type(type); !r.empty()) return r;
  }
  for (const auto& c : list(column, "constraints")) {
    const json& constraint = field(c, "Constraint");
    if (text(constraint, "contype") != "CONSTR_IDENTITY") continue;
    if (std::string r = check_sequence_options(list(constraint, "options"), true); !r.empty()) {
      return r;
    }
    const std::string name = type_name(type);
    if (auto it = supported_types().find(name); it != supported_types().end() && name != "int8") {
      return "datatype " + it->second + " not supported, identity column type must be bigint";
    }
  }
  return {};
}

std::string check_create_table(const json& t) {
  const std::string persistence = text(field(t, "relation"), "relpersistence");
  if (persistence == "t") return "TEMPORARY or TEMP table not supported for CREATE TABLE";
  if (persistence == "u") return "UNLOGGED table not supported for CREATE TABLE";
  if (child(t, "partspec")) return "PARTITION BY clause not supported for CREATE TABLE";
  if (child(t, "partbound")) return "PARTITION OF clause not supported for CREATE TABLE";
  if (!list(t, "inhRelations").empty()) return "INHERITS not supported for CREATE TABLE";
  if (!text(t, "tablespacename").empty()) return "TABLESPACE not supported for CREATE TABLE";
  if (child(t, "ofTypename")) return "OF type not supported for CREATE TABLE";
  for (const auto& element : list(t, "tableElts")) {
    if (const json* column = child(element, "ColumnDef")) {
      if (std::string r = check_column(*column, false); !r.empty()) return r;
    } else if (const json* c = child(element, "Constraint")) {
      if (text(*c, "contype") == "CONSTR_EXCLUSION") {
        return "EXCLUDE constraint not supported for CREATE TABLE";
      }
      if (list(*c, "keys").size() > 8)
        return "more than 8 column keys in an index are not supported";
    }
  }
  return {};
}

std::string check_index(const parsed_statement& s) {
  const json& t = s.tree;
  if (s.async.kind == sql_text::async_kind::none) {
    return flag(t, "concurrent") ? "CONCURRENTLY not supported for CREATE INDEX"
                                 : "unsupported mode. please use CREATE INDEX ASYNC.";
  }
  // libpg_query fills in btree when USING is absent: the text says whether it was written.
  for (const auto& tok : sql_text::tokenize(s.text, 256)) {
    if (tok.type == sql_text::token_type::symbol && tok.text == "(") break;
    if (tok.type == sql_text::token_type::word && tok.text == "USING") {
      return "USING not supported for CREATE INDEX";
    }
  }
  if (!text(t, "tableSpace").empty()) return "TABLESPACE not supported for CREATE INDEX";
  const json& params = list(t, "indexParams");
  if (params.size() > 8) return "more than 8 column keys in an index are not supported";
  for (const auto& p : params) {
    const json& e = field(p, "IndexElem");
    if (text(e, "ordering") != "SORTBY_DEFAULT" && !text(e, "ordering").empty()) {
      return "specifying sort order not supported for index keys";
    }
    if (!list(e, "opclass").empty()) return "opclass not supported for index keys";
    if (!list(e, "collation").empty()) return "COLLATE clause not supported";
  }
  return {};
}

const char* unsupported_alter_form(const std::string& sub) {
  static const std::map<std::string, const char*> forms{
      {"AT_SetNotNull", "ALTER COLUMN ... SET NOT NULL"},
      {"AT_SetStatistics", "ALTER COLUMN ... SET STATISTICS"},
      {"AT_SetCompression", "ALTER COLUMN ... SET COMPRESSION"},
      {"AT_SetOptions", "ALTER COLUMN ... SET"},
      {"AT_ResetOptions", "ALTER COLUMN ... SET"},
      {"AT_EnableRowSecurity", "ENABLE ROW SECURITY"},
      {"AT_DisableRowSecurity", "DISABLE ROW SECURITY"},
      {"AT_ForceRowSecurity", "FORCE ROW SECURITY"},
      {"AT_NoForceRowSecurity", "NO FORCE ROW SECURITY"},
      {"AT_SetLogged", "SET LOGGED"},
      {"AT_SetUnLogged", "SET UNLOGGED"},
      {"AT_SetTableSpace", "SET TABLESPACE"},
      {"AT_SetAccessMethod", "SET ACCESS METHOD"},
      {"AT_SetRelOptions", "SET"},
      {"AT_ResetRelOptions", "SET"},
      {"AT_ReplaceRelOptions", "SET"},
      {"AT_ClusterOn", "CLUSTER ON"},
      {"AT_DropCluster", "SET WITHOUT CLUSTER"},
      {"AT_AddInherit", "INHERIT"},
      {"AT_DropInherit", "NO INHERIT"},
      {"AT_AddOf", "OF"},
      {"AT_DropOf", "NOT OF"},
      {"AT_AttachPartition", "ATTACH PARTITION"},
      {"AT_DetachPartition", "DETACH PARTITION"},
      {"AT_DetachPartitionFinalize", "DETACH PARTITION"},
      {"AT_ReplicaIdentity", "REPLICA IDENTITY"},
      {"AT_EnableRule", "RULE"},
      {"AT_EnableAlwaysRule", "RULE"},
      {"AT_EnableReplicaRule", "RULE"},
      {"AT_DisableRule", "RULE"},
  };
  const auto it = forms.find(sub);
  return it == forms.end() ? nullptr : it->second;
}

std::string check_alter_table(const parsed_statement& s) {
  const json& t = s.tree;
  if (s.async.kind == sql_text::async_kind::alter_table) {
    const json& cmds = list(t, "cmds");
    if (cmds.size() != 1 ||
        text(field(cmds[0], "AlterTableCmd"), "subtype") != "AT_ValidateConstraint") {
      return "unsupported ALTER TABLE ASYNC statement (it takes one VALIDATE CONSTRAINT)";
    }
    return {};
  }
  if (text(t, "objtype") != "OBJECT_TABLE") return {};
  for (const auto& c : list(t, "cmds")) {
    const json& cmd = field(c, "AlterTableCmd");
    const std::string sub = text(cmd, "subtype");
    if (const char* form = unsupported_alter_form(sub)) {
      return std::string("unsupported ALTER TABLE ") + form + " statement";
    }
    if (sub == "AT_AddColumn") {
      if (std::string r = check_column(field(field(cmd, "def"), "ColumnDef"), true); !r.empty()) {
        return r;
      }
    } else if (sub == "AT_AlterColumnType") {
      return "unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement";
    } else if (sub == "AT_ValidateConstraint") {
      return "unsupported ALTER TABLE VALIDATE CONSTRAINT statement";
    } else if (sub == "AT_AddConstraint") {
      const json& constraint = field(field(cmd, "def"), "Constraint");
      const std::string type = text(constraint, "contype");
      const bool keyed = type == "CONSTR_PRIMARY" || type == "CONSTR_UNIQUE";
      const bool later_validated = type == "CONSTR_CHECK" || type == "CONSTR_FOREIGN";
      if ((keyed && text(constraint, "indexname").empty()) ||
          (later_validated && !flag(constraint, "skip_validation")) ||
          (!keyed && !later_validated)) {
        return "unsupported ALTER TABLE ADD CONSTRAINT statement";
      }
    }
  }
  return {};
}

// Query clauses and functions, anywhere in the tree.
std::string check_query_nodes(const json& node) {
  if (node.is_array()) {
    for (const auto& item : node) {
      if (std::string r = check_query_nodes(item); !r.empty()) return r;
    }
    return {};
  }
  if (!node.is_object()) return {};
  static const char* const refused_functions[] = {
      "pg_advisory_lock",          "pg_advisory_lock_shared",
      "pg_try_advisory_lock",      "pg_try_advisory_lock_shared",
      "pg_advisory_xact_lock",     "pg_advisory_xact_lock_shared",
      "pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared",
      "pg_advisory_unlock",        "pg_advisory_unlock_shared",
      "pg_advisory_unlock_all",    "pg_backend_pid"};
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string& key = it.key();
    if (key == "RangeTableSample") return "TABLESAMPLE clause not supported";
    if (key == "LockingClause") {
      const std::string strength = text(it.value(), "strength");
      if (strength == "LCS_FORSHARE" || strength == "LCS_FORNOKEYUPDATE") {
        return "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported";
      }
    }
    if (key == "FuncCall") {
      const auto names = string_list(it.value(), "funcname");
      if (!names.empty() && (names.size() == 1 || names[0] == "pg_catalog")) {
        for (const char* f : refused_functions) {
          if (names.back() == f) return "function " + names.back() + " not supported";
        }
      }
    }
    if (std::string r = check_query_nodes(it.value()); !r.empty()) return r;
  }
  return {};
}

bool supported_drop(const std::string& type) {
  static const char* const ok[] = {"OBJECT_TABLE",    "OBJECT_VIEW",   "OBJECT_INDEX",
                                   "OBJECT_SEQUENCE", "OBJECT_SCHEMA", "OBJECT_DOMAIN",
                                   "OBJECT_FUNCTION", "OBJECT_ROUTINE"};
  return std::any_of(std::begin(ok), std::end(ok), [&](const char* o) { return type == o; });
}

bool supported_rename(const std::string& type) {
  static const char* const ok[] = {"OBJECT_TABLE",         "OBJECT_VIEW",    "OBJECT_INDEX",
                                   "OBJECT_SEQUENCE",      "OBJECT_SCHEMA",  "OBJECT_COLUMN",
                                   "OBJECT_TABCONSTRAINT", "OBJECT_DOMAIN",  "OBJECT_DOMCONSTRAINT",
                                   "OBJECT_FUNCTION",      "OBJECT_ROUTINE", "OBJECT_ROLE"};
  return std::any_of(std::begin(ok), std::end(ok), [&](const char* o) { return type == o; });
}

std::string check_grant(const json& t) {
  static const char* const refused[] = {
      "OBJECT_DATABASE", "OBJECT_TABLESPACE",     "OBJECT_LANGUAGE",     "OBJECT_LARGEOBJECT",
      "OBJECT_FDW",      "OBJECT_FOREIGN_SERVER", "OBJECT_PARAMETER_ACL"};
  const std::string type = text(t, "objtype");
  for (const char* r : refused) {
    if (type == r) return "unsupported object type in GRANT";
  }
  if (type != "OBJECT_SCHEMA") return {};
  for (const auto& object : list(t, "objects")) {
    const std::string schema = string_value(object);
    for (const char* system : {"public", "pg_catalog", "information_schema", "sys"}) {
      if (schema == system) return "feature not supported on system entity";
    }
  }
  return {};
}

std::string function_language(const json& t) {
  for (const auto& o : list(t, "options")) {
    const json& def = field(o, "DefElem");
    if (text(def, "defname") == "language") return string_value(field(def, "arg"));
  }
  return "sql";
}

}  // namespace

std::string known_refusal(const parsed_statement& s) {
  const std::string& n = s.node;
  const json& t = s.tree;
  if (const char* name = refused_statement_name(n)) {
    return std::string("unsupported statement: ") + name;
  }
  if (n == "TransactionStmt") {
    return "transaction control in a migration file: dsql migrate runs each DDL statement, and "
           "each group of DML, in a transaction of its own; remove it";
  }
  if (n == "VariableSetStmt") {
    return "SET in a migration file would change only the connection that happens to run it: "
           "set it for every connection instead (a URI's options=-c name=value, or the pool's "
           "after_connect)";
  }
  if (n == "CopyStmt") {
    if (!text(t, "filename").empty()) return "COPY to or from a file is not supported";
    return "COPY in a migration file has no data to read or nowhere to write: load data with "
           "dsql load";
  }
  if (n == "MergeStmt") return "unsupported statement type: MERGE";
  if (n == "SelectStmt" && child(t, "intoClause")) return "unsupported statement: CreateTableAs";
  if (n == "CreateStmt") {
    if (std::string r = check_create_table(t); !r.empty()) return r;
  } else if (n == "IndexStmt") {
    if (std::string r = check_index(s); !r.empty()) return r;
  } else if (n == "AlterTableStmt") {
    if (std::string r = check_alter_table(s); !r.empty()) return r;
  } else if (n == "CreateSeqStmt") {
    return check_sequence_options(list(t, "options"), false);
  } else if (n == "CreateDomainStmt") {
    return check_type(field(t, "typeName"));
  } else if (n == "CreateTrigStmt") {
    return "CREATE TRIGGER not supported";
  } else if (n == "CreateEnumStmt") {
    return "CREATE TYPE not supported";
  } else if (n == "AlterEnumStmt" || n == "AlterTypeStmt") {
    return "ALTER TYPE not supported";
  } else if (n == "CreateFunctionStmt") {
    if (flag(t, "is_procedure")) return "PROCEDURE is not supported";
    const std::string language = function_language(t);
    if (language != "sql" && language != "SQL") {
      return "CREATE FUNCTION with language " + language + " not supported";
    }
  } else if (n == "DropStmt") {
    if (!supported_drop(text(t, "removeType"))) return "unsupported object in DROP statement";
  } else if (n == "RenameStmt") {
    if (!supported_rename(text(t, "renameType"))) return "unsupported object in RENAME statement";
  } else if (n == "GrantStmt") {
    return check_grant(t);
  } else if (n == "DeallocateStmt") {
    if (!text(t, "name").empty()) return "unsupported statement: Deallocate";
  } else if (n == "VacuumStmt") {
    if (flag(t, "is_vacuumcmd")) return "unsupported VACUUM statement";
  }
  return check_query_nodes(t);
}

}  // namespace dsql::detail

namespace dsql {

const std::vector<std::string>& server_checked_rules() {
  static const std::vector<std::string> rules{
      "the 3,000-row limit for statements whose row count the text does not give (UPDATE, "
      "DELETE, INSERT ... SELECT): a statement over it fails when it runs",
      "the 10 MiB transaction size (index entries count too) and the 5-minute transaction age",
      "column types named by a domain or a user type, and key columns of type jsonb",
      "ALTER TABLE rules that depend on the table: dropping a primary-key column or constraint, "
      "ADD ... USING INDEX on an index not yet valid, identity on a non-bigint column",
      "the 24-index limit per table and whether the objects a statement names exist",
      "functions DSQL lacks other than advisory locks and pg_backend_pid",
  };
  return rules;
}

}  // namespace dsql
