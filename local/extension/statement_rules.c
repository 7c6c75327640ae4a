/*
 * Which utility statements DSQL accepts, and how it refuses the others. DSQL's generic refusal
 * names the statement's parse node ("unsupported statement: Truncate"); a few have their own
 * wording. Everything not listed as accepted is refused, as on DSQL, where the supported set is
 * the documented one.
 */
#include "dsql_rules.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#define REFUSE(...) ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg(__VA_ARGS__)))

/* The name DSQL's generic refusal gives a statement: its parse node without "Stmt". */
static const char* statement_name(Node* parsetree) {
  switch (nodeTag(parsetree)) {
#define DSQL_REFUSED_STATEMENT(node, name) \
  case T_##node:                           \
    return name;
#include "refused_statements.h"
#undef DSQL_REFUSED_STATEMENT
    default:
      return NULL;
  }
}

static bool isolation_is_repeatable_read(List* options) {
  ListCell* cell;
  foreach (cell, options) {
    DefElem* def = lfirst_node(DefElem, cell);
    if (strcmp(def->defname, "transaction_isolation") == 0) {
      const char* level = strVal(&castNode(A_Const, def->arg)->val);
      if (strcmp(level, "repeatable read") != 0) {
        char* upper = pstrdup(level);
        for (char* p = upper; *p; p++) *p = (char)pg_toupper((unsigned char)*p);
        REFUSE("Unsupported isolation level: %s", upper);
      }
    }
  }
  return true;
}

static void check_transaction(TransactionStmt* stmt) {
  switch (stmt->kind) {
    case TRANS_STMT_BEGIN:
    case TRANS_STMT_START:
      (void)isolation_is_repeatable_read(stmt->options);
      return;
    case TRANS_STMT_SAVEPOINT:
      REFUSE("unsupported transaction statement: SAVEPOINT");
      break;
    case TRANS_STMT_RELEASE:
      REFUSE("unsupported transaction statement: RELEASE");
      break;
    case TRANS_STMT_ROLLBACK_TO:
      REFUSE("unsupported transaction statement: ROLLBACK TO");
      break;
    case TRANS_STMT_PREPARE:
      REFUSE("unsupported transaction statement: PREPARE TRANSACTION");
      break;
    case TRANS_STMT_COMMIT_PREPARED:
      REFUSE("unsupported transaction statement: COMMIT PREPARED");
      break;
    case TRANS_STMT_ROLLBACK_PREPARED:
      REFUSE("unsupported transaction statement: ROLLBACK PREPARED");
      break;
    default:
      return;
  }
}

static void refuse_setting(const char* name) {
  REFUSE("setting configuration parameter \"%s\" not supported", name);
}

static void check_set(VariableSetStmt* stmt) {
  if (stmt->kind == VAR_RESET_ALL || stmt->kind == VAR_RESET) return;
  if (stmt->kind == VAR_SET_MULTI) {
    /* DSQL names an unsupported isolation level; SET SESSION CHARACTERISTICS is otherwise
     * accepted, SET TRANSACTION refused as a whole. */
    (void)isolation_is_repeatable_read(stmt->args);
    if (strcmp(stmt->name, "SESSION CHARACTERISTICS") == 0) return;
    refuse_setting("TRANSACTION");
  }
  if (pg_strcasecmp(stmt->name, "session_authorization") == 0) {
    if (stmt->kind != VAR_SET_DEFAULT) refuse_setting(stmt->name);
    return;
  }
  if (pg_strcasecmp(stmt->name, "role") == 0) {
    if (!stmt->is_local || !IsTransactionBlock()) refuse_setting(stmt->name);
    return;
  }
  if (!dsql_setting_settable(stmt->name)) refuse_setting(stmt->name);
}

static void check_show(VariableShowStmt* stmt) {
  if (dsql_setting_unknown(stmt->name))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("unrecognized configuration parameter \"%s\"", stmt->name)));
}

static void check_create_table(CreateStmt* stmt) {
  ListCell* cell;
  if (stmt->relation->relpersistence == RELPERSISTENCE_TEMP)
    REFUSE("TEMPORARY or TEMP table not supported for CREATE TABLE");
  if (stmt->relation->relpersistence == RELPERSISTENCE_UNLOGGED)
    REFUSE("UNLOGGED table not supported for CREATE TABLE");
  if (stmt->partspec) REFUSE("PARTITION BY clause not supported for CREATE TABLE");
  if (stmt->partbound) REFUSE("PARTITION OF clause not supported for CREATE TABLE");
  if (stmt->inhRelations) REFUSE("INHERITS not supported for CREATE TABLE");
  if (stmt->tablespacename) REFUSE("TABLESPACE not supported for CREATE TABLE");
  if (stmt->ofTypename) REFUSE("OF type not supported for CREATE TABLE");
  foreach (cell, stmt->tableElts) {
    Node* element = lfirst(cell);
    if (IsA(element, ColumnDef)) {
      ColumnDef* column = (ColumnDef*)element;
      ListCell* c;
      dsql_check_column_def(column, false);
      foreach (c, column->constraints) {
        Constraint* constraint = lfirst_node(Constraint, c);
        if (constraint->contype == CONSTR_PRIMARY || constraint->contype == CONSTR_UNIQUE)
          dsql_check_key_columns(stmt, list_make1(makeString(column->colname)));
      }
    } else if (IsA(element, Constraint)) {
      Constraint* constraint = (Constraint*)element;
      if (constraint->contype == CONSTR_EXCLUSION)
        REFUSE("EXCLUDE constraint not supported for CREATE TABLE");
      if (constraint->contype == CONSTR_PRIMARY || constraint->contype == CONSTR_UNIQUE)
        dsql_check_key_columns(stmt, constraint->keys);
    }
  }
}

static bool is_primary_key_column(Oid table, const char* column) {
  AttrNumber attnum = get_attnum(table, column);
  Relation relation;
  Oid pkey;
  bool found = false;
  if (attnum == InvalidAttrNumber) return false;
  relation = RelationIdGetRelation(table);
  if (!RelationIsValid(relation)) return false;
  pkey = RelationGetPrimaryKeyIndex(relation);
  RelationClose(relation);
  if (OidIsValid(pkey)) {
    HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkey));
    if (HeapTupleIsValid(tuple)) {
      Form_pg_index index = (Form_pg_index)GETSTRUCT(tuple);
      for (int i = 0; i < index->indnkeyatts; i++)
        found = found || index->indkey.values[i] == attnum;
      ReleaseSysCache(tuple);
    }
  }
  return found;
}

static bool is_primary_key_constraint(Oid table, const char* name) {
  Oid constraint = OidIsValid(table) ? get_relation_constraint_oid(table, name, true) : InvalidOid;
  HeapTuple tuple;
  bool primary = false;
  if (!OidIsValid(constraint)) return false;
  tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(constraint));
  if (HeapTupleIsValid(tuple)) {
    primary = ((Form_pg_constraint)GETSTRUCT(tuple))->contype == CONSTRAINT_PRIMARY;
    ReleaseSysCache(tuple);
  }
  return primary;
}

static void check_add_identity(Oid table, AlterTableCmd* cmd) {
  Oid type = OidIsValid(table) ? get_atttype(table, get_attnum(table, cmd->name)) : InvalidOid;
  dsql_check_sequence_options(castNode(Constraint, cmd->def)->options, true);
  if (OidIsValid(type) && getBaseType(type) != INT8OID)
    REFUSE("datatype %s not supported, identity column type must be bigint", format_type_be(type));
}

/* DSQL's wording for an ALTER TABLE form it does not have. */
static const char* unsupported_alter_form(AlterTableType type) {
  switch (type) {
    case AT_SetNotNull:
      return "ALTER COLUMN ... SET NOT NULL";
    case AT_SetStatistics:
      return "ALTER COLUMN ... SET STATISTICS";
    case AT_SetCompression:
      return "ALTER COLUMN ... SET COMPRESSION";
    case AT_SetOptions:
    case AT_ResetOptions:
      return "ALTER COLUMN ... SET";
    case AT_EnableRowSecurity:
      return "ENABLE ROW SECURITY";
    case AT_DisableRowSecurity:
      return "DISABLE ROW SECURITY";
    case AT_ForceRowSecurity:
      return "FORCE ROW SECURITY";
    case AT_NoForceRowSecurity:
      return "NO FORCE ROW SECURITY";
    case AT_SetLogged:
      return "SET LOGGED";
    case AT_SetUnLogged:
      return "SET UNLOGGED";
    case AT_SetTableSpace:
      return "SET TABLESPACE";
    case AT_SetAccessMethod:
      return "SET ACCESS METHOD";
    case AT_SetRelOptions:
    case AT_ResetRelOptions:
    case AT_ReplaceRelOptions:
      return "SET";
    case AT_ClusterOn:
      return "CLUSTER ON";
    case AT_DropCluster:
      return "SET WITHOUT CLUSTER";
    case AT_AddInherit:
      return "INHERIT";
    case AT_DropInherit:
      return "NO INHERIT";
    case AT_AddOf:
      return "OF";
    case AT_DropOf:
      return "NOT OF";
    case AT_AttachPartition:
      return "ATTACH PARTITION";
    case AT_DetachPartition:
    case AT_DetachPartitionFinalize:
      return "DETACH PARTITION";
    case AT_ReplicaIdentity:
      return "REPLICA IDENTITY";
    case AT_EnableRule:
    case AT_EnableAlwaysRule:
    case AT_EnableReplicaRule:
    case AT_DisableRule:
      return "RULE";
    default:
      return NULL;
  }
}

static void check_add_constraint(Constraint* constraint) {
  switch (constraint->contype) {
    case CONSTR_PRIMARY:
    case CONSTR_UNIQUE:
      /* A key can be added only on an index built beforehand (CREATE UNIQUE INDEX ASYNC). */
      if (constraint->indexname == NULL) REFUSE("unsupported ALTER TABLE ADD CONSTRAINT statement");
      return;
    case CONSTR_CHECK:
    case CONSTR_FOREIGN:
      /* Added NOT VALID, then validated by ALTER TABLE ASYNC ... VALIDATE CONSTRAINT. */
      if (!constraint->skip_validation) REFUSE("unsupported ALTER TABLE ADD CONSTRAINT statement");
      return;
    default:
      REFUSE("unsupported ALTER TABLE ADD CONSTRAINT statement");
  }
}

static void check_alter_table(AlterTableStmt* stmt) {
  ListCell* cell;
  Oid table;
  if (stmt->objtype != OBJECT_TABLE) return;
  table = RangeVarGetRelid(stmt->relation, NoLock, true);
  foreach (cell, stmt->cmds) {
    AlterTableCmd* cmd = lfirst_node(AlterTableCmd, cell);
    const char* form = unsupported_alter_form(cmd->subtype);
    if (form) REFUSE("unsupported ALTER TABLE %s statement", form);
    switch (cmd->subtype) {
      case AT_AddColumn:
        dsql_check_column_def(castNode(ColumnDef, cmd->def), true);
        break;
      case AT_AlterColumnType:
        REFUSE("unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement");
        break;
      case AT_AddConstraint:
        check_add_constraint(castNode(Constraint, cmd->def));
        break;
      case AT_ValidateConstraint:
        REFUSE("unsupported ALTER TABLE VALIDATE CONSTRAINT statement");
        break;
      case AT_DropColumn:
        if (OidIsValid(table) && is_primary_key_column(table, cmd->name))
          REFUSE("cannot drop primary key column %s", cmd->name);
        break;
      case AT_DropConstraint:
        if (is_primary_key_constraint(table, cmd->name))
          REFUSE("unsupported ALTER TABLE DROP CONSTRAINT statement");
        break;
      case AT_AddIdentity:
        check_add_identity(table, cmd);
        break;
      default:
        break;
    }
  }
}

static bool drop_object_supported(ObjectType type) {
  switch (type) {
    case OBJECT_TABLE:
    case OBJECT_VIEW:
    case OBJECT_INDEX:
    case OBJECT_SEQUENCE:
    case OBJECT_SCHEMA:
    case OBJECT_DOMAIN:
    case OBJECT_FUNCTION:
    case OBJECT_ROUTINE:
    /* There are no triggers to drop, but DSQL takes DROP TRIGGER IF EXISTS, as schema tools
     * emit it. */
    case OBJECT_TRIGGER:
      return true;
    default:
      return false;
  }
}

static bool rename_object_supported(ObjectType type) {
  switch (type) {
    case OBJECT_TABLE:
    case OBJECT_VIEW:
    case OBJECT_INDEX:
    case OBJECT_SEQUENCE:
    case OBJECT_SCHEMA:
    case OBJECT_COLUMN:
    case OBJECT_TABCONSTRAINT:
    case OBJECT_DOMAIN:
    case OBJECT_DOMCONSTRAINT:
    case OBJECT_FUNCTION:
    case OBJECT_ROUTINE:
    case OBJECT_ROLE:
      return true;
    default:
      return false;
  }
}

static void check_grant(GrantStmt* stmt) {
  static const char* const system_schemas[] = {"public", "pg_catalog", "information_schema", "sys"};
  ListCell* cell;
  if (stmt->objtype == OBJECT_DATABASE || stmt->objtype == OBJECT_TABLESPACE ||
      stmt->objtype == OBJECT_LANGUAGE || stmt->objtype == OBJECT_LARGEOBJECT ||
      stmt->objtype == OBJECT_FDW || stmt->objtype == OBJECT_FOREIGN_SERVER ||
      stmt->objtype == OBJECT_PARAMETER_ACL)
    REFUSE("unsupported object type in GRANT");
  if (stmt->objtype != OBJECT_SCHEMA) return;
  foreach (cell, stmt->objects) {
    const char* schema = strVal(lfirst(cell));
    for (size_t i = 0; i < lengthof(system_schemas); i++) {
      if (strcmp(schema, system_schemas[i]) == 0) REFUSE("feature not supported on system entity");
    }
  }
}

static const char* function_language(CreateFunctionStmt* stmt) {
  ListCell* cell;
  foreach (cell, stmt->options) {
    DefElem* def = lfirst_node(DefElem, cell);
    if (strcmp(def->defname, "language") == 0) return defGetString(def);
  }
  return "sql"; /* a SQL-standard body (BEGIN ATOMIC / RETURN) has no LANGUAGE clause */
}

void dsql_check_utility(PlannedStmt* pstmt, ProcessUtilityContext context) {
  Node* parsetree = pstmt->utilityStmt;
  const char* name = statement_name(parsetree);
  (void)context;
  if (name) REFUSE("unsupported statement: %s", name);

  switch (nodeTag(parsetree)) {
    case T_TransactionStmt:
      check_transaction((TransactionStmt*)parsetree);
      return;
    case T_VariableSetStmt:
      check_set((VariableSetStmt*)parsetree);
      return;
    case T_AlterRoleSetStmt:
      /* ALTER ROLE ... SET takes what SET takes. */
      if (((AlterRoleSetStmt*)parsetree)->setstmt)
        check_set(((AlterRoleSetStmt*)parsetree)->setstmt);
      return;
    case T_VariableShowStmt:
      check_show((VariableShowStmt*)parsetree);
      return;
    case T_CreateStmt:
      check_create_table((CreateStmt*)parsetree);
      return;
    case T_AlterTableStmt:
      check_alter_table((AlterTableStmt*)parsetree);
      return;
    case T_IndexStmt:
      if (((IndexStmt*)parsetree)->concurrent)
        REFUSE("CONCURRENTLY not supported for CREATE INDEX");
      REFUSE("unsupported mode. please use CREATE INDEX ASYNC.");
      return;
    case T_CreateSeqStmt:
      dsql_check_sequence_options(((CreateSeqStmt*)parsetree)->options, false);
      return;
    case T_CreateDomainStmt: {
      const char* unsupported =
          dsql_unsupported_column_type(((CreateDomainStmt*)parsetree)->typeName);
      if (unsupported) REFUSE("datatype %s not supported", unsupported);
      return;
    }
    case T_CreateTrigStmt:
      REFUSE("CREATE TRIGGER not supported");
      return;
    case T_CreateEnumStmt:
      REFUSE("CREATE TYPE not supported");
      return;
    case T_AlterEnumStmt:
    case T_AlterTypeStmt:
      REFUSE("ALTER TYPE not supported");
      return;
    case T_CreateFunctionStmt: {
      CreateFunctionStmt* stmt = (CreateFunctionStmt*)parsetree;
      const char* language = function_language(stmt);
      if (stmt->is_procedure) REFUSE("PROCEDURE is not supported");
      if (pg_strcasecmp(language, "sql") != 0)
        REFUSE("CREATE FUNCTION with language %s not supported", language);
      return;
    }
    case T_DropStmt:
      if (!drop_object_supported(((DropStmt*)parsetree)->removeType))
        REFUSE("unsupported object in DROP statement");
      return;
    case T_RenameStmt:
      if (!rename_object_supported(((RenameStmt*)parsetree)->renameType))
        REFUSE("unsupported object in RENAME statement");
      return;
    case T_GrantStmt:
      check_grant((GrantStmt*)parsetree);
      return;
    case T_DeallocateStmt:
      /* Only DEALLOCATE ALL: SQL-level prepared statements do not exist (PREPARE is refused). */
      if (((DeallocateStmt*)parsetree)->name != NULL) REFUSE("unsupported statement: Deallocate");
      return;
    case T_VacuumStmt:
      if (((VacuumStmt*)parsetree)->is_vacuumcmd) REFUSE("unsupported VACUUM statement");
      return;
    case T_CopyStmt:
      if (((CopyStmt*)parsetree)->filename) REFUSE("COPY to or from a file is not supported");
      return;
    default:
      return;
  }
}

bool dsql_is_ddl(Node* parsetree) {
  /* PostgreSQL's own notion (log_statement = ddl): CREATE, ALTER, DROP, GRANT, REVOKE, COMMENT;
   * DSQL counts GRANT and REVOKE as DDL too. */
  return GetCommandLogLevel(parsetree) == LOGSTMT_DDL;
}
