/*
 * DSQL's per-transaction rules: one DDL statement, never DDL beside DML, at most N modified rows
 * and M bytes, a maximum age; and its optimistic concurrency as far as it lives in a backend:
 * OC001 when another session changed the catalog since this one last looked, OC000 for a
 * transaction the front doomed because it held a row another writer wanted.
 */
#include "dsql_rules.h"

#include "access/xact.h"
#include "executor/instrument.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(dsql_local_doom);

extern void dsql_reset_internal_depth(void);

typedef struct transaction_state {
  LocalTransactionId lxid; /* the transaction this state belongs to */
  int ddl;
  bool dml;
  bool doomed;
  bool doomed_by_schema; /* lost to another session's schema change: OC001, not OC000 */
  bool job_submitted;
  uint64 rows;
  uint64 wal_bytes_at_start;
  int64 wal_fpi_at_start;
} transaction_state;

static transaction_state current;
/* The catalog version this session's caches reflect, as DSQL tracks it per session. */
static uint64 seen_catalog_version = 0;

static void ensure_current(void) {
  if (current.lxid == MyProc->lxid) return;
  memset(&current, 0, sizeof current);
  current.lxid = MyProc->lxid;
  current.wal_bytes_at_start = pgWalUsage.wal_bytes;
  current.wal_fpi_at_start = pgWalUsage.wal_fpi;
}

static bool belongs_to_this_transaction(void) {
  return current.lxid == MyProc->lxid;
}

static void raise_doom(void) {
  /* The schema change it lost to is news it has now heard. */
  if (current.doomed_by_schema)
    seen_catalog_version = pg_atomic_read_u64(&dsql_shared->catalog_version);
  if (current.doomed_by_schema)
    ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                    errmsg("schema has been updated by another transaction (OC001)")));
  ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                  errmsg("change conflicts with another transaction (OC000)")));
}

static void check_catalog_version(void) {
  uint64 now = pg_atomic_read_u64(&dsql_shared->catalog_version);
  if (now == seen_catalog_version) return;
  /* The session refreshes its view as it fails: a retry goes through, as on DSQL. */
  seen_catalog_version = now;
  ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                  errmsg("schema has been updated by another transaction (OC001)")));
}

void dsql_check_transaction_age(void) {
  long seconds = 0;
  int microseconds = 0;
  TimestampDifference(GetCurrentTransactionStartTimestamp(), GetCurrentTimestamp(), &seconds,
                      &microseconds);
  if (seconds < dsql_max_transaction_age_s) return;
  ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                  errmsg("transaction age limit of %ds exceeded", dsql_max_transaction_age_s),
                  errdetail("Current transaction age %lds exceeds %ds", seconds,
                            dsql_max_transaction_age_s)));
}

/* Data written, as WAL: heap and index records alike (DSQL counts index entries too). Full-page
 * images are not data the transaction wrote, so they are taken out, at a page each. */
static uint64 transaction_bytes(void) {
  uint64 bytes = pgWalUsage.wal_bytes - current.wal_bytes_at_start;
  uint64 images = (uint64)(pgWalUsage.wal_fpi - current.wal_fpi_at_start) * BLCKSZ;
  return bytes > images ? bytes - images : 0;
}

static void check_size(void) {
  uint64 limit = (uint64)dsql_max_transaction_kb * 1024;
  uint64 bytes = 0;
  if (limit == 0) return;
  bytes = transaction_bytes();
  if (bytes <= limit) return;
  if (dsql_max_transaction_kb % 1024 == 0)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("transaction size limit %dmb exceeded", dsql_max_transaction_kb / 1024),
                    errdetail("Current transaction size %llumb > %dmb",
                              (unsigned long long)(bytes / (1024 * 1024)),
                              dsql_max_transaction_kb / 1024)));
  ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                  errmsg("transaction size limit %dkb exceeded", dsql_max_transaction_kb),
                  errdetail("Current transaction size %llukb > %dkb",
                            (unsigned long long)(bytes / 1024), dsql_max_transaction_kb)));
}

void dsql_statement_start(bool transaction_control) {
  ensure_current();
  /* A new session's caches are as fresh as the catalog. */
  if (seen_catalog_version == 0)
    seen_catalog_version = pg_atomic_read_u64(&dsql_shared->catalog_version);
  if (transaction_control) return;
  if (current.doomed) raise_doom();
  check_catalog_version();
  dsql_check_transaction_age();
}

void dsql_note_ddl(void) {
  ensure_current();
  if (current.ddl > 0)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("multiple ddl statements not supported in a transaction")));
  if (current.dml)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("ddl and dml are not supported in the same transaction")));
  current.ddl++;
}

void dsql_note_dml(void) {
  ensure_current();
  if (current.ddl > 0)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("ddl and dml are not supported in the same transaction")));
  current.dml = true;
}

void dsql_add_rows(uint64 rows) {
  ensure_current();
  current.rows += rows;
  if (dsql_max_transaction_rows > 0 && current.rows > (uint64)dsql_max_transaction_rows)
    ereport(ERROR,
            (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("transaction row limit exceeded")));
}

void dsql_note_job_submitted(void) {
  ensure_current();
  current.job_submitted = true;
}

void dsql_bump_catalog_version(void) {
  uint64 before = pg_atomic_fetch_add_u64(&dsql_shared->catalog_version, 1);
  /* This session's own change does not make its caches stale; another's since would. */
  if (before == seen_catalog_version) seen_catalog_version = before + 1;
}

static void on_transaction_event(XactEvent event, void* arg) {
  (void)arg;
  if (!dsql_client_session) return;
  switch (event) {
    case XACT_EVENT_PRE_COMMIT:
      if (!belongs_to_this_transaction()) return;
      if (current.doomed) raise_doom();
      check_catalog_version();
      dsql_check_transaction_age();
      check_size();
      return;
    case XACT_EVENT_COMMIT:
      /* By now the transaction has given up its local id, but `current` was reset when the
       * previous one ended, so what it holds is this transaction's. */
      if (current.lxid != InvalidLocalTransactionId) {
        if (current.ddl > 0) dsql_bump_catalog_version();
        if (current.job_submitted) dsql_wake_job_worker();
      }
      memset(&current, 0, sizeof current);
      dsql_reset_internal_depth();
      return;
    case XACT_EVENT_ABORT:
      memset(&current, 0, sizeof current);
      dsql_reset_internal_depth();
      return;
    default:
      return;
  }
}

void dsql_transaction_rules_init(void) {
  RegisterXactCallback(on_transaction_event, NULL);
}

/* CALL sys.dsql_local_doom(kind): the front has rolled this session's transaction back because
 * another writer needed a row it held (kind 'OC000'), or another session's schema change needed
 * a table it used ('OC001'); the client still believes the transaction is open, so its next
 * statement, or its COMMIT, fails as DSQL's loser of that conflict does. */
Datum dsql_local_doom(PG_FUNCTION_ARGS) {
  ensure_current();
  current.doomed = true;
  current.doomed_by_schema = PG_NARGS() > 0 && !PG_ARGISNULL(0) &&
                             strcmp(text_to_cstring(PG_GETARG_TEXT_PP(0)), "OC001") == 0;
  PG_RETURN_VOID();
}
