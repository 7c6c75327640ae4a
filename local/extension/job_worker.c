/*
 * The background worker that runs async jobs: builds an INDEX_BUILD job's index, validates a
 * VALIDATE_CONSTRAINT job's constraint, closes a DROP job, one job at a time in submission
 * order. A job waits dsql_rules.job_delay first, so that clients see it submitted, as they do on
 * DSQL, where builds take seconds. Finished jobs are forgotten after 30 minutes, as on DSQL.
 */
#include "dsql_rules.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

PGDLLEXPORT void dsql_job_worker_main(Datum arg);

typedef struct job {
  char id[32];
  char type[32];
  Oid object_id;
  char target[NAMEDATALEN * 2 + 8];
} job;

typedef enum job_outcome { JOB_COMPLETED, JOB_FAILED, JOB_CANCELLED, JOB_RETRY } job_outcome;

static MemoryContext worker_context = NULL;

void dsql_register_job_worker(void) {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof worker);
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 2;
  /* Found through dynamic_library_path, as shared_preload_libraries found it. */
  snprintf(worker.bgw_library_name, BGW_MAXLEN, "dsql_rules");
  snprintf(worker.bgw_function_name, BGW_MAXLEN, "dsql_job_worker_main");
  snprintf(worker.bgw_name, BGW_MAXLEN, "dsql local job worker");
  snprintf(worker.bgw_type, BGW_MAXLEN, "dsql local job worker");
  RegisterBackgroundWorker(&worker);
}

/* Called for each row a statement returns, inside its transaction (values are only readable
 * there); copy what is needed into worker_context. */
typedef void (*row_handler)(HeapTuple row, TupleDesc desc, void* context);

/* Runs `sql` in a transaction of its own. Returns true, or false with the error's text and
 * SQLSTATE in `message`/`sqlstate` (the transaction rolled back). */
static bool run_in_transaction(const char* sql, int nargs, Oid* types, Datum* values,
                               const char* nulls, row_handler on_row, void* context, char** message,
                               int* sqlstate) {
  volatile bool ok = true;
  PG_TRY();
  {
    StartTransactionCommand();
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    PushActiveSnapshot(GetTransactionSnapshot());
    /* Never queue behind a client for long: DSQL never makes clients wait for a job. */
    SPI_execute("SET LOCAL lock_timeout = '100ms'", false, 0);
    SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
    if (on_row) {
      MemoryContext old = MemoryContextSwitchTo(worker_context);
      for (uint64 i = 0; i < SPI_processed; i++)
        on_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, context);
      MemoryContextSwitchTo(old);
    }
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
  }
  PG_CATCH();
  {
    ErrorData* error;
    MemoryContextSwitchTo(worker_context);
    error = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    if (message) *message = error->message ? pstrdup(error->message) : pstrdup("unknown error");
    if (sqlstate) *sqlstate = error->sqlerrcode;
    FreeErrorData(error);
    ok = false;
  }
  PG_END_TRY();
  return ok;
}

static bool run(const char* sql) {
  return run_in_transaction(sql, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
}

/* The first column of the first row, as text. */
static void first_value(HeapTuple row, TupleDesc desc, void* context) {
  char** out = (char**)context;
  if (*out == NULL) {
    char* value = SPI_getvalue(row, desc, 1);
    *out = value ? pstrdup(value) : pstrdup("");
  }
}

static void claimed_job(HeapTuple row, TupleDesc desc, void* context) {
  job* out = (job*)context;
  bool is_null = false;
  snprintf(out->id, sizeof out->id, "%s", SPI_getvalue(row, desc, 1));
  snprintf(out->type, sizeof out->type, "%s", SPI_getvalue(row, desc, 2));
  out->object_id = DatumGetObjectId(SPI_getbinval(row, desc, 3, &is_null));
  snprintf(out->target, sizeof out->target, "%s", SPI_getvalue(row, desc, 4));
}

/* Takes the oldest job that has waited long enough, marking it processing. */
static bool claim_job(job* out) {
  char sql[1024];
  snprintf(sql, sizeof sql,
           "UPDATE sys.dsql_local_jobs SET status = 'processing', update_time = clock_timestamp() "
           "WHERE job_id = (SELECT job_id FROM sys.dsql_local_jobs WHERE status = 'submitted' AND "
           "start_time <= clock_timestamp() - interval '%d milliseconds' ORDER BY start_time, "
           "job_id LIMIT 1 FOR UPDATE SKIP LOCKED) "
           "RETURNING job_id, job_type, object_id, coalesce(target_name, '')",
           dsql_job_delay_ms);
  out->id[0] = '\0';
  return run_in_transaction(sql, 0, NULL, NULL, NULL, claimed_job, out, NULL, NULL) &&
         out->id[0] != '\0';
}

/* The statement that does a job's work, or NULL when its object is gone. */
static char* job_statement(const job* j, bool* table_gone) {
  Oid types[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(j->object_id)};
  char* statement = NULL;
  const char* lookup =
      strcmp(j->type, "INDEX_BUILD") == 0
          ? "SELECT format('REINDEX INDEX %I.%I', n.nspname, c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1"
          : "SELECT format('ALTER TABLE %I.%I VALIDATE CONSTRAINT %I', n.nspname, c.relname, "
            "co.conname) FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE co.oid = $1";
  *table_gone = false;
  if (run_in_transaction(lookup, 1, types, values, NULL, first_value, &statement, NULL, NULL) &&
      statement != NULL)
    return statement;
  if (j->target[0] != '\0') {
    Oid text_type[1] = {TEXTOID};
    Datum target[1] = {CStringGetTextDatum(j->target)};
    char* gone = NULL;
    if (run_in_transaction("SELECT to_regclass($1) IS NULL", 1, text_type, target, NULL,
                           first_value, &gone, NULL, NULL) &&
        gone != NULL && strcmp(gone, "t") == 0)
      *table_gone = true;
  }
  return NULL;
}

static job_outcome run_job(const job* j, char** details) {
  char* sql;
  bool table_gone = false;
  int sqlstate = 0;
  *details = NULL;
  if (strcmp(j->type, "DROP") == 0) return JOB_COMPLETED;
  sql = job_statement(j, &table_gone);
  if (sql == NULL) {
    /* What DSQL reports for a build whose table was dropped; a dropped index cancels it. */
    if (table_gone) {
      *details = psprintf("relation \"%s\" does not exist", j->target);
      return JOB_COMPLETED;
    }
    return JOB_CANCELLED;
  }
  pgstat_report_activity(STATE_RUNNING, sql);
  if (run_in_transaction(sql, 0, NULL, NULL, NULL, NULL, NULL, details, &sqlstate))
    return JOB_COMPLETED;
  if (sqlstate == ERRCODE_LOCK_NOT_AVAILABLE) return JOB_RETRY;
  /* DSQL's words for a unique index whose table holds duplicates. */
  if (sqlstate == ERRCODE_UNIQUE_VIOLATION && strcmp(j->type, "INDEX_BUILD") == 0)
    *details = pstrdup("Found duplicate key while validating index for UCVs");
  return JOB_FAILED;
}

static void finish_job(const job* j, job_outcome outcome, const char* details) {
  static const char* const statuses[] = {"completed", "failed", "cancelled", "submitted"};
  Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
  Datum values[3];
  char nulls[3] = {' ', ' ', details ? ' ' : 'n'};
  values[0] = CStringGetTextDatum(j->id);
  values[1] = CStringGetTextDatum(statuses[outcome]);
  values[2] = details ? CStringGetTextDatum(details) : (Datum)0;
  if (!run_in_transaction("UPDATE sys.dsql_local_jobs SET status = $2, details = $3, "
                          "update_time = CASE WHEN $2 = 'submitted' THEN NULL ELSE "
                          "clock_timestamp() END WHERE job_id = $1",
                          3, types, values, nulls, NULL, NULL, NULL, NULL))
    elog(LOG, "dsql local job worker could not record the end of job %s", j->id);
}

static bool run_one_job(void) {
  job j;
  char* details = NULL;
  job_outcome outcome;
  if (!claim_job(&j)) return false;
  outcome = run_job(&j, &details);
  finish_job(&j, outcome, details);
  pgstat_report_activity(STATE_IDLE, NULL);
  return outcome != JOB_RETRY;
}

void dsql_job_worker_main(Datum arg) {
  TimestampTz last_prune = 0;
  (void)arg;
  pqsignal(SIGTERM, die);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection("postgres", NULL, 0);
  worker_context =
      AllocSetContextCreate(TopMemoryContext, "dsql job worker", ALLOCSET_DEFAULT_SIZES);
  SpinLockAcquire(&dsql_shared->mutex);
  dsql_shared->worker_latch = MyLatch;
  SpinLockRelease(&dsql_shared->mutex);

  /* A worker that died mid-job left it processing; run it again. */
  run("UPDATE sys.dsql_local_jobs SET status = 'submitted', update_time = NULL "
      "WHERE status = 'processing'");

  for (;;) {
    TimestampTz now;
    /* The jobs table is made by the front once the server runs; until then there is
     * nothing to do. */
    MemoryContextReset(worker_context);
    while (run_one_job()) {
      MemoryContextReset(worker_context);
      CHECK_FOR_INTERRUPTS();
    }
    now = GetCurrentTimestamp();
    if (TimestampDifferenceExceeds(last_prune, now, 60 * 1000)) {
      run("DELETE FROM sys.dsql_local_jobs WHERE status IN ('completed', 'failed', "
          "'cancelled') AND update_time < clock_timestamp() - interval '30 minutes'");
      last_prune = now;
    }
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                    dsql_job_delay_ms > 0 ? Min(dsql_job_delay_ms, 200) : 200, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
  }
}
