/*
 * Entry points: settings, shared memory and the hooks that route statements to the rules.
 */
#include "dsql_rules.h"

#include "commands/copy.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"

PG_MODULE_MAGIC;

void _PG_init(void);

bool dsql_client_session = false;
int dsql_max_transaction_rows = 3000;
int dsql_max_transaction_kb = 10 * 1024;
int dsql_max_transaction_age_s = 300;
int dsql_job_delay_ms = 0;
dsql_shared_state* dsql_shared = NULL;

/* SPI work of the extension's own, nested inside a client's statement. Reset at transaction end
 * (transaction_rules.c), so that an error thrown inside it cannot leave rules switched off. */
static int internal_depth = 0;

static ProcessUtility_hook_type prev_process_utility = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;

extern void dsql_swap_functions(Query* query);
extern void dsql_reset_internal_depth(void);

bool dsql_rules_active(void) {
  return dsql_client_session && internal_depth == 0;
}

void dsql_internal_begin(void) {
  internal_depth++;
}

void dsql_internal_end(void) {
  if (internal_depth > 0) internal_depth--;
}

void dsql_reset_internal_depth(void) {
  internal_depth = 0;
}

static bool is_dml(CmdType operation) {
  return operation == CMD_INSERT || operation == CMD_UPDATE || operation == CMD_DELETE ||
         operation == CMD_MERGE;
}

static void dsql_process_utility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                                 ProcessUtilityContext context, ParamListInfo params,
                                 QueryEnvironment* query_env, DestReceiver* dest,
                                 QueryCompletion* qc) {
  Node* parsetree = pstmt->utilityStmt;
  dsql_call_kind call = dsql_classify_call(parsetree);
  /* Statements PostgreSQL generates for another (CREATE TABLE's primary-key index) are part of
   * that statement, which the rules have already judged; the front's doom is not the client's. */
  bool judged =
      dsql_rules_active() && context != PROCESS_UTILITY_SUBCOMMAND && call != DSQL_CALL_DOOM;
  bool async = call == DSQL_CALL_CREATE_INDEX_ASYNC || call == DSQL_CALL_ALTER_TABLE_ASYNC;

  if (judged) {
    dsql_statement_start(IsA(parsetree, TransactionStmt));
    dsql_check_utility(pstmt, context);
    if (async || dsql_is_ddl(parsetree))
      dsql_note_ddl();
    else if (IsA(parsetree, CopyStmt) && ((CopyStmt*)parsetree)->is_from)
      dsql_note_dml();
    if (IsA(parsetree, DropStmt)) dsql_record_drop_jobs((DropStmt*)parsetree);
  }

  if (prev_process_utility)
    prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
  else
    standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest,
                            qc);

  if (judged && qc) {
    /* CREATE INDEX ASYNC reaches PostgreSQL as a CALL (which can return the job_id row);
     * the client sees DSQL's command tag. */
    if (async)
      SetQueryCompletion(
          qc, call == DSQL_CALL_CREATE_INDEX_ASYNC ? CMDTAG_CREATE_INDEX : CMDTAG_ALTER_TABLE, 0);
    else if (IsA(parsetree, CopyStmt) && ((CopyStmt*)parsetree)->is_from)
      dsql_add_rows(qc->nprocessed);
  }
}

static void dsql_post_parse_analyze(ParseState* pstate, Query* query, JumbleState* jstate) {
  if (prev_post_parse_analyze) prev_post_parse_analyze(pstate, query, jstate);
  if (dsql_rules_active()) dsql_check_query(pstate, query);
}

static PlannedStmt* dsql_planner(Query* parse, const char* query_string, int cursor_options,
                                 ParamListInfo bound_params) {
  /* At plan time rather than at analysis, so that a view's stored definition keeps the
   * functions its author wrote. */
  if (dsql_rules_active()) dsql_swap_functions(parse);
  if (prev_planner) return prev_planner(parse, query_string, cursor_options, bound_params);
  return standard_planner(parse, query_string, cursor_options, bound_params);
}

static void dsql_executor_start(QueryDesc* query_desc, int eflags) {
  if (dsql_rules_active() && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0) {
    dsql_statement_start(false);
    if (is_dml(query_desc->operation)) dsql_note_dml();
  }
  if (prev_executor_start)
    prev_executor_start(query_desc, eflags);
  else
    standard_ExecutorStart(query_desc, eflags);
}

static void dsql_executor_run(QueryDesc* query_desc, ScanDirection direction, uint64 count,
                              bool execute_once) {
  if (prev_executor_run)
    prev_executor_run(query_desc, direction, count, execute_once);
  else
    standard_ExecutorRun(query_desc, direction, count, execute_once);
  /* es_processed counts this run's rows; a statement that crosses the cap fails, as on DSQL. */
  if (dsql_rules_active() && is_dml(query_desc->operation) && query_desc->estate)
    dsql_add_rows(query_desc->estate->es_processed);
}

static void dsql_shmem_request(void) {
  if (prev_shmem_request) prev_shmem_request();
  RequestAddinShmemSpace(MAXALIGN(sizeof(dsql_shared_state)));
}

static void dsql_shmem_startup(void) {
  bool found = false;
  if (prev_shmem_startup) prev_shmem_startup();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  dsql_shared = ShmemInitStruct("dsql_rules", sizeof(dsql_shared_state), &found);
  if (!found) {
    pg_atomic_init_u64(&dsql_shared->catalog_version, 1);
    dsql_shared->worker_latch = NULL;
    SpinLockInit(&dsql_shared->mutex);
  }
  LWLockRelease(AddinShmemInitLock);
}

static void define_settings(void) {
  DefineCustomBoolVariable(
      "dsql_rules.client_session",
      "Apply Aurora DSQL's rules to this session (set by the dsql local front).", NULL,
      &dsql_client_session, false, PGC_BACKEND, 0, NULL, NULL, NULL);
  DefineCustomIntVariable(
      "dsql_rules.max_transaction_rows", "Rows a transaction may modify (0: no limit).", NULL,
      &dsql_max_transaction_rows, 3000, 0, INT_MAX, PGC_SIGHUP, 0, NULL, NULL, NULL);
  DefineCustomIntVariable("dsql_rules.max_transaction_size",
                          "Data a transaction may modify, checked at COMMIT (0: no limit).", NULL,
                          &dsql_max_transaction_kb, 10 * 1024, 0, INT_MAX / 1024, PGC_SIGHUP,
                          GUC_UNIT_KB, NULL, NULL, NULL);
  DefineCustomIntVariable("dsql_rules.max_transaction_age", "Longest a transaction may last.", NULL,
                          &dsql_max_transaction_age_s, 300, 1, INT_MAX, PGC_SIGHUP, GUC_UNIT_S,
                          NULL, NULL, NULL);
  DefineCustomIntVariable(
      "dsql_rules.job_delay", "How long an async job stays submitted before the worker starts it.",
      NULL, &dsql_job_delay_ms, 0, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
  MarkGUCPrefixReserved("dsql_rules");
}

/* server_version_num is pinned to the compiled-in number (its range is that one value), so the
 * range is widened before it is set. */
static void report_server_version_num(int number) {
  struct config_generic** variables = get_guc_variables();
  int count = GetNumConfigOptions();
  char text[16];
  for (int i = 0; i < count; i++) {
    if (variables[i]->vartype == PGC_INT && strcmp(variables[i]->name, "server_version_num") == 0) {
      struct config_int* setting = (struct config_int*)variables[i];
      setting->max = Max(setting->max, number);
      setting->min = Min(setting->min, number);
    }
  }
  snprintf(text, sizeof text, "%d", number);
  SetConfigOption("server_version_num", text, PGC_INTERNAL, PGC_S_OVERRIDE);
}

void _PG_init(void) {
  if (!process_shared_preload_libraries_in_progress)
    ereport(ERROR, (errmsg("dsql_rules must be loaded with shared_preload_libraries")));

  define_settings();
  /* What DSQL reports; set once in the postmaster, so every backend and its startup
   * ParameterStatus says the same. */
  SetConfigOption("server_version", "16.15", PGC_INTERNAL, PGC_S_OVERRIDE);
  report_server_version_num(160015);

  prev_shmem_request = shmem_request_hook;
  shmem_request_hook = dsql_shmem_request;
  prev_shmem_startup = shmem_startup_hook;
  shmem_startup_hook = dsql_shmem_startup;
  prev_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = dsql_process_utility;
  prev_post_parse_analyze = post_parse_analyze_hook;
  post_parse_analyze_hook = dsql_post_parse_analyze;
  prev_planner = planner_hook;
  planner_hook = dsql_planner;
  prev_executor_start = ExecutorStart_hook;
  ExecutorStart_hook = dsql_executor_start;
  prev_executor_run = ExecutorRun_hook;
  ExecutorRun_hook = dsql_executor_run;

  dsql_transaction_rules_init();
  dsql_register_job_worker();
}
