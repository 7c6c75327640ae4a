/*
 * Rules for analysed queries (SELECT, INSERT, UPDATE, DELETE, MERGE, and the queries inside views
 * and SQL functions): MERGE, TABLESAMPLE, locking clauses, runtime types DSQL lacks; and, at plan
 * time, DSQL's answers for version(), set_config() and current_setting().
 */
#include "dsql_rules.h"

#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "settings_list.h"

PG_FUNCTION_INFO_V1(dsql_local_version);
PG_FUNCTION_INFO_V1(dsql_local_set_config);
PG_FUNCTION_INFO_V1(dsql_local_current_setting);

static bool name_in(const char* name, const char* const* list) {
  for (; *list; list++) {
    if (pg_strcasecmp(name, *list) == 0) return true;
  }
  return false;
}

bool dsql_setting_settable(const char* name) {
  return name_in(name, dsql_settable_parameters);
}

bool dsql_setting_unknown(const char* name) {
  return name_in(name, dsql_unknown_parameters);
}

static bool geometric_type(Oid type) {
  switch (type) {
    case POINTOID:
    case LINEOID:
    case LSEGOID:
    case BOXOID:
    case PATHOID:
    case POLYGONOID:
    case CIRCLEOID:
      return true;
    default:
      return false;
  }
}

/* DSQL's only text search configuration is "simple"; naming another fails as a missing one. */
static void check_text_search_configuration(Const* value) {
  const char* name;
  if (value->constisnull) return;
  name = DatumGetCString(DirectFunctionCall1(regconfigout, value->constvalue));
  if (strrchr(name, '.')) name = strrchr(name, '.') + 1;
  if (strcmp(name, "simple") != 0)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("text search configuration \"%s\" does not exist", name)));
}

/* Built-in functions DSQL does not have: session-level locks and backend identity. */
static void check_function(Oid funcid) {
  static const char* const refused[] = {
      "pg_advisory_lock",          "pg_advisory_lock_shared",
      "pg_try_advisory_lock",      "pg_try_advisory_lock_shared",
      "pg_advisory_xact_lock",     "pg_advisory_xact_lock_shared",
      "pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared",
      "pg_advisory_unlock",        "pg_advisory_unlock_shared",
      "pg_advisory_unlock_all",    "pg_backend_pid",
  };
  char* name;
  if (funcid >= FirstGenbkiObjectId) return;
  name = get_func_name(funcid);
  if (name == NULL || strncmp(name, "pg_", 3) != 0) return;
  for (size_t i = 0; i < lengthof(refused); i++) {
    if (strcmp(name, refused[i]) == 0)
      ereport(ERROR,
              (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("function %s not supported", name)));
  }
}

static bool check_node(Node* node, void* context);

static void check_query_itself(Query* query) {
  ListCell* cell;
  if (query->commandType == CMD_MERGE)
    ereport(ERROR,
            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("unsupported statement type: MERGE")));
  foreach (cell, query->rowMarks) {
    RowMarkClause* mark = lfirst_node(RowMarkClause, cell);
    if (mark->strength == LCS_FORSHARE || mark->strength == LCS_FORNOKEYUPDATE)
      ereport(ERROR,
              (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
               errmsg("locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported")));
  }
  foreach (cell, query->rtable) {
    RangeTblEntry* rte = lfirst_node(RangeTblEntry, cell);
    if (rte->rtekind == RTE_RELATION && rte->tablesample)
      ereport(ERROR,
              (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("TABLESAMPLE clause not supported")));
  }
}

static bool check_node(Node* node, void* context) {
  if (node == NULL) return false;
  if (IsA(node, Query)) {
    check_query_itself((Query*)node);
    return query_tree_walker((Query*)node, check_node, context, 0);
  }
  if (IsA(node, Const) && ((Const*)node)->consttype == REGCONFIGOID)
    check_text_search_configuration((Const*)node);
  if (IsA(node, FuncExpr)) check_function(((FuncExpr*)node)->funcid);
  if (IsA(node, Const) || IsA(node, FuncExpr) || IsA(node, OpExpr) || IsA(node, CoerceViaIO) ||
      IsA(node, RelabelType) || IsA(node, Param) || IsA(node, Aggref) || IsA(node, CaseExpr) ||
      IsA(node, CoalesceExpr) || IsA(node, ArrayCoerceExpr)) {
    Oid type = exprType(node);
    if (geometric_type(type))
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                      errmsg("datatype %s not supported", format_type_be(type))));
  }
  return expression_tree_walker(node, check_node, context);
}

void dsql_check_query(ParseState* pstate, Query* query) {
  (void)pstate;
  if (query->commandType == CMD_UTILITY) return;
  (void)check_node((Node*)query, NULL);
}

/* ---- plan-time substitutions ----------------------------------------------------------- */

typedef struct swap_targets {
  Oid version, set_config, current_setting, current_setting_missing_ok;
  bool found_any;
} swap_targets;

static Oid lookup_sys_function(const char* name, int nargs, Oid* types) {
  List* qualified = list_make2(makeString("sys"), makeString((char*)name));
  return LookupFuncName(qualified, nargs, types, true);
}

static Oid replacement_for(Oid funcid, swap_targets* t) {
  static swap_targets cached;
  static bool resolved = false;
  if (funcid != F_VERSION && funcid != F_SET_CONFIG && funcid != F_CURRENT_SETTING_TEXT &&
      funcid != F_CURRENT_SETTING_TEXT_BOOL)
    return InvalidOid;
  if (!resolved) {
    Oid one[1] = {TEXTOID};
    Oid two[2] = {TEXTOID, BOOLOID};
    Oid three[3] = {TEXTOID, TEXTOID, BOOLOID};
    cached.version = lookup_sys_function("dsql_local_version", 0, NULL);
    cached.set_config = lookup_sys_function("dsql_local_set_config", 3, three);
    cached.current_setting = lookup_sys_function("dsql_local_current_setting", 1, one);
    cached.current_setting_missing_ok = lookup_sys_function("dsql_local_current_setting", 2, two);
    /* Until the front has made them, there is nothing to swap in; look again next time. */
    resolved = OidIsValid(cached.version) && OidIsValid(cached.set_config) &&
               OidIsValid(cached.current_setting) && OidIsValid(cached.current_setting_missing_ok);
  }
  *t = cached;
  switch (funcid) {
    case F_VERSION:
      return t->version;
    case F_SET_CONFIG:
      return t->set_config;
    case F_CURRENT_SETTING_TEXT:
      return t->current_setting;
    default:
      return t->current_setting_missing_ok;
  }
}

static bool swap_node(Node* node, void* context) {
  if (node == NULL) return false;
  if (IsA(node, Query)) return query_tree_walker((Query*)node, swap_node, context, 0);
  if (IsA(node, FuncExpr)) {
    FuncExpr* func = (FuncExpr*)node;
    Oid replacement = replacement_for(func->funcid, (swap_targets*)context);
    if (OidIsValid(replacement)) func->funcid = replacement;
  }
  return expression_tree_walker(node, swap_node, context);
}

void dsql_swap_functions(Query* query);
void dsql_swap_functions(Query* query) {
  swap_targets targets;
  memset(&targets, 0, sizeof targets);
  (void)swap_node((Node*)query, &targets);
}

/* version(): DSQL's text. */
Datum dsql_local_version(PG_FUNCTION_ARGS) {
  (void)fcinfo;
  PG_RETURN_TEXT_P(cstring_to_text("PostgreSQL 16"));
}

static void refuse_setting(const char* name) {
  ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                  errmsg("setting configuration parameter \"%s\" not supported", name)));
}

/* set_config(name, value, is_local), for the parameters DSQL lets a client set. */
Datum dsql_local_set_config(PG_FUNCTION_ARGS) {
  char *name, *value = NULL;
  if (PG_ARGISNULL(0))
    ereport(ERROR,
            (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("SET requires parameter name")));
  name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  if (!dsql_setting_settable(name)) refuse_setting(name);
  if (!PG_ARGISNULL(1)) value = text_to_cstring(PG_GETARG_TEXT_PP(1));
  (void)set_config_option(
      name, value, superuser() ? PGC_SUSET : PGC_USERSET, PGC_S_SESSION,
      (!PG_ARGISNULL(2) && PG_GETARG_BOOL(2)) ? GUC_ACTION_LOCAL : GUC_ACTION_SET, true, 0, false);
  PG_RETURN_TEXT_P(cstring_to_text(GetConfigOptionByName(name, NULL, false)));
}

/* current_setting(name [, missing_ok]), without the parameters DSQL does not have. */
Datum dsql_local_current_setting(PG_FUNCTION_ARGS) {
  char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  bool missing_ok = PG_NARGS() > 1 && PG_GETARG_BOOL(1);
  char* value;
  if (dsql_setting_unknown(name)) {
    if (missing_ok) PG_RETURN_NULL();
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("unrecognized configuration parameter \"%s\"", name)));
  }
  value = GetConfigOptionByName(name, NULL, missing_ok);
  if (value == NULL) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(value));
}
