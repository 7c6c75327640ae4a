/*
 * DSQL's asynchronous DDL: CREATE INDEX ASYNC and ALTER TABLE ASYNC ... VALIDATE CONSTRAINT
 * answer at once with a job_id and leave the work to a job (job_worker.c); sys.jobs lists jobs,
 * CALL sys.wait_for_job(id) waits for one. DROP TABLE and DROP INDEX are recorded as DROP jobs,
 * as DSQL records them.
 *
 * An async index exists in the catalog from its own transaction on, not valid and not ready
 * (so nothing uses or maintains it) until the job builds it, which is what DSQL shows too.
 */
#include "dsql_rules.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_utilcmd.h"
#include "parser/parser.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

PG_FUNCTION_INFO_V1(dsql_create_index_async);
PG_FUNCTION_INFO_V1(dsql_alter_table_async);
PG_FUNCTION_INFO_V1(dsql_wait_for_job);

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
#define JOB_ID_LEN 26

/* A job id is a random 128-bit UUID in lowercase, unpadded RFC 4648 base32, as DSQL's are. */
static void new_job_id(char out[JOB_ID_LEN + 1]) {
  uint8 bytes[16];
  uint32 buffer = 0;
  int bits = 0, n = 0;
  if (!pg_strong_random(bytes, sizeof bytes))
    ereport(ERROR, (errmsg("could not generate a job id")));
  for (int i = 0; i < 16; i++) {
    buffer = (buffer << 8) | bytes[i];
    bits += 8;
    while (bits >= 5) {
      out[n++] = base32_alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  out[n++] = base32_alphabet[(buffer << (5 - bits)) & 31];
  out[n] = '\0';
}

/* The inverse, for ids a client passes: false unless `id` is a well-formed 26-character id. */
static bool valid_job_id(const char* id) {
  uint32 last = 0;
  if (strlen(id) != JOB_ID_LEN) return false;
  for (int i = 0; i < JOB_ID_LEN; i++) {
    const char* p = strchr(base32_alphabet, id[i]);
    if (id[i] == '\0' || p == NULL) return false;
    last = (uint32)(p - base32_alphabet);
  }
  /* 26 characters carry 130 bits; a UUID's last two are padding and must be zero. */
  return (last & 3) == 0;
}

dsql_call_kind dsql_classify_call(Node* parsetree) {
  CallStmt* call;
  Oid namespace_oid;
  char* name;
  if (!IsA(parsetree, CallStmt)) return DSQL_CALL_OTHER;
  call = (CallStmt*)parsetree;
  if (!call->funcexpr) return DSQL_CALL_OTHER;
  namespace_oid = get_func_namespace(call->funcexpr->funcid);
  if (!OidIsValid(namespace_oid) || strcmp(get_namespace_name(namespace_oid), "sys") != 0)
    return DSQL_CALL_OTHER;
  name = get_func_name(call->funcexpr->funcid);
  if (name == NULL) return DSQL_CALL_OTHER;
  if (strcmp(name, "dsql_local_create_index_async") == 0) return DSQL_CALL_CREATE_INDEX_ASYNC;
  if (strcmp(name, "dsql_local_alter_table_async") == 0) return DSQL_CALL_ALTER_TABLE_ASYNC;
  if (strcmp(name, "dsql_local_doom") == 0) return DSQL_CALL_DOOM;
  return DSQL_CALL_OTHER;
}

/* Inserts a job as the bootstrap superuser: clients may read sys.jobs but not write it. */
static void insert_job(const char* job_id, const char* job_type, const char* status, Oid class_id,
                       Oid object_id, const char* target) {
  Oid types[6] = {TEXTOID, TEXTOID, TEXTOID, OIDOID, OIDOID, TEXTOID};
  Datum values[6];
  char nulls[6] = {' ', ' ', ' ', ' ', ' ', target ? ' ' : 'n'};
  Oid saved_user = InvalidOid;
  int saved_context = 0;
  values[0] = CStringGetTextDatum(job_id);
  values[1] = CStringGetTextDatum(status);
  values[2] = CStringGetTextDatum(job_type);
  values[3] = ObjectIdGetDatum(class_id);
  values[4] = ObjectIdGetDatum(object_id);
  values[5] = target ? CStringGetTextDatum(target) : (Datum)0;

  GetUserIdAndSecContext(&saved_user, &saved_context);
  SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, saved_context | SECURITY_LOCAL_USERID_CHANGE);
  dsql_internal_begin();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  if (SPI_execute_with_args(
          "INSERT INTO sys.dsql_local_jobs (job_id, status, job_type, class_id, object_id, "
          "target_name, start_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, "
          "clock_timestamp(), CASE WHEN $2 = 'submitted' THEN NULL ELSE clock_timestamp() END)",
          6, types, values, nulls, false, 0) != SPI_OK_INSERT)
    elog(ERROR, "could not record job %s", job_id);
  SPI_finish();
  dsql_internal_end();
  SetUserIdAndSecContext(saved_user, saved_context);
  dsql_note_job_submitted();
}

static Node* parse_one(const char* sql, NodeTag expected, const char* what) {
  List* statements = raw_parser(sql, RAW_PARSE_DEFAULT);
  RawStmt* raw;
  if (list_length(statements) != 1)
    ereport(ERROR, (errcode(ERRCODE_SYNTAX_ERROR), errmsg("expected a single %s statement", what)));
  raw = linitial_node(RawStmt, statements);
  if (nodeTag(raw->stmt) != expected)
    ereport(ERROR, (errcode(ERRCODE_SYNTAX_ERROR), errmsg("expected a single %s statement", what)));
  return raw->stmt;
}

static Datum job_id_result(FunctionCallInfo fcinfo, const char* job_id) {
  TupleDesc desc;
  Datum values[1];
  bool nulls[1] = {false};
  if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "dsql_rules: procedure must return a record");
  desc = BlessTupleDesc(desc);
  values[0] = CStringGetTextDatum(job_id);
  return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* The index stays in the catalog but out of use and out of maintenance until its job runs. */
static void mark_index_unbuilt(Oid index_oid, Oid table_oid) {
  Relation pg_index = table_open(IndexRelationId, RowExclusiveLock);
  HeapTuple tuple = SearchSysCacheCopy1(INDEXRELID, ObjectIdGetDatum(index_oid));
  Form_pg_index form;
  if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for index %u", index_oid);
  form = (Form_pg_index)GETSTRUCT(tuple);
  form->indisvalid = false;
  form->indisready = false;
  CatalogTupleUpdate(pg_index, &tuple->t_self, tuple);
  heap_freetuple(tuple);
  table_close(pg_index, RowExclusiveLock);
  CacheInvalidateRelcacheByRelid(table_oid);
  CommandCounterIncrement();
}

static char* qualified_relation_name(Oid relid) {
  return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
                                    get_rel_name(relid));
}

/* Whether the text between the table name and the column list says USING: DSQL refuses any
 * access method, btree included, and the parse tree cannot tell an explicit btree apart. */
static bool names_access_method(const char* sql, IndexStmt* stmt) {
  const char* p = sql + (stmt->relation->location > 0 ? stmt->relation->location : 0);
  char quote = 0;
  for (; *p && (quote || *p != '('); p++) {
    if (quote) {
      if (*p == quote) quote = 0;
    } else if (*p == '"') {
      quote = '"';
    } else if (pg_strncasecmp(p, "using", 5) == 0 && !isalnum((unsigned char)p[5]) && p[5] != '_' &&
               (p == sql || !isalnum((unsigned char)p[-1]))) {
      return true;
    }
  }
  return false;
}

static void check_async_index(const char* sql, IndexStmt* stmt, Oid table_oid) {
  ListCell* cell;
  Relation table;
  int indexes;
  if (names_access_method(sql, stmt))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("USING not supported for CREATE INDEX")));
  if (stmt->tableSpace)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("TABLESPACE not supported for CREATE INDEX")));
  dsql_check_key_count(list_length(stmt->indexParams));
  foreach (cell, stmt->indexParams) {
    IndexElem* elem = lfirst_node(IndexElem, cell);
    if (elem->ordering != SORTBY_DEFAULT)
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                      errmsg("specifying sort order not supported for index keys")));
    if (elem->opclass != NIL)
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                      errmsg("opclass not supported for index keys")));
    if (elem->collation != NIL)
      ereport(ERROR,
              (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("COLLATE clause not supported")));
    if (elem->name) dsql_check_key_type(get_atttype(table_oid, get_attnum(table_oid, elem->name)));
  }
  table = table_open(table_oid, NoLock);
  indexes = list_length(RelationGetIndexList(table));
  table_close(table, NoLock);
  if (indexes >= 24)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("more than 24 indexes per table are not allowed")));
}

/* CALL sys.dsql_local_create_index_async('CREATE [UNIQUE] INDEX ...'): CREATE INDEX ASYNC. */
Datum dsql_create_index_async(PG_FUNCTION_ARGS) {
  char* sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
  IndexStmt* stmt = (IndexStmt*)parse_one(sql, T_IndexStmt, "CREATE INDEX");
  char job_id[JOB_ID_LEN + 1];
  ObjectAddress address;
  Oid table_oid, index_oid;
  const char* status = "submitted";

  stmt->concurrent = false;
  table_oid =
      RangeVarGetRelidExtended(stmt->relation, ShareLock, 0, RangeVarCallbackOwnsRelation, NULL);
  check_async_index(sql, stmt, table_oid);
  stmt = transformIndexStmt(table_oid, stmt, sql);
  {
    ListCell* cell;
    foreach (cell, stmt->indexParams) {
      IndexElem* elem = lfirst_node(IndexElem, cell);
      if (elem->expr) dsql_check_key_type(exprType(elem->expr));
    }
  }
  address = DefineIndex(table_oid, stmt, InvalidOid, InvalidOid, InvalidOid, false, true, true,
                        true /* skip_build: the job builds it */, false);
  index_oid = address.objectId;
  if (OidIsValid(index_oid)) {
    CommandCounterIncrement();
    mark_index_unbuilt(index_oid, table_oid);
  } else {
    /* IF NOT EXISTS and it does: DSQL still answers with a job, which has nothing to do. */
    index_oid = get_relname_relid(stmt->idxname, get_rel_namespace(table_oid));
    status = "completed";
  }
  new_job_id(job_id);
  insert_job(job_id, "INDEX_BUILD", status, RelationRelationId, index_oid,
             qualified_relation_name(table_oid));
  PG_RETURN_DATUM(job_id_result(fcinfo, job_id));
}

/* CALL sys.dsql_local_alter_table_async('ALTER TABLE t VALIDATE CONSTRAINT c'). */
Datum dsql_alter_table_async(PG_FUNCTION_ARGS) {
  char* sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
  AlterTableStmt* stmt = (AlterTableStmt*)parse_one(sql, T_AlterTableStmt, "ALTER TABLE");
  AlterTableCmd* cmd;
  char job_id[JOB_ID_LEN + 1];
  Oid table_oid, constraint_oid;

  if (list_length(stmt->cmds) != 1 ||
      (cmd = linitial_node(AlterTableCmd, stmt->cmds))->subtype != AT_ValidateConstraint)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("unsupported ALTER TABLE ASYNC statement"),
                    errhint("ALTER TABLE ASYNC takes one VALIDATE CONSTRAINT.")));
  table_oid = RangeVarGetRelidExtended(stmt->relation, ShareUpdateExclusiveLock, 0,
                                       RangeVarCallbackOwnsRelation, NULL);
  constraint_oid = get_relation_constraint_oid(table_oid, cmd->name, false);
  new_job_id(job_id);
  insert_job(job_id, "VALIDATE_CONSTRAINT", "submitted", ConstraintRelationId, constraint_oid,
             qualified_relation_name(table_oid));
  PG_RETURN_DATUM(job_id_result(fcinfo, job_id));
}

void dsql_record_drop_jobs(DropStmt* stmt) {
  ListCell* cell;
  if (stmt->removeType != OBJECT_TABLE && stmt->removeType != OBJECT_INDEX) return;
  foreach (cell, stmt->objects) {
    RangeVar* rv = makeRangeVarFromNameList((List*)lfirst(cell));
    Oid relid = RangeVarGetRelid(rv, NoLock, true);
    char job_id[JOB_ID_LEN + 1];
    if (!OidIsValid(relid)) continue;
    new_job_id(job_id);
    insert_job(job_id, "DROP", "submitted", RelationRelationId, relid, NULL);
  }
}

/* The status of a job as committed now, whatever this transaction's snapshot. */
static char* committed_job_status(const char* job_id) {
  Oid types[1] = {TEXTOID};
  Datum values[1];
  Snapshot snapshot;
  char* status = NULL;
  values[0] = CStringGetTextDatum(job_id);
  dsql_internal_begin();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  snapshot = RegisterSnapshot(GetLatestSnapshot());
  if (SPI_execute_snapshot(
          SPI_prepare("SELECT status FROM sys.dsql_local_jobs WHERE job_id = $1", 1, types), values,
          NULL, snapshot, InvalidSnapshot, true, false, 1) == SPI_OK_SELECT &&
      SPI_processed == 1) {
    char* value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    status = MemoryContextStrdup(TopTransactionContext, value);
  }
  UnregisterSnapshot(snapshot);
  SPI_finish();
  dsql_internal_end();
  return status;
}

/* CALL sys.wait_for_job('<job_id>'): waits until the job ends; succeeded is whether it worked. */
Datum dsql_wait_for_job(PG_FUNCTION_ARGS) {
  char* job_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
  TupleDesc desc;
  Datum values[1];
  bool nulls[1] = {false};

  if (!valid_job_id(job_id))
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("Unable to convert text to UUID")));
  /* A job starts only once the transaction that submitted it commits. */
  if (IsTransactionBlock())
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("CALL sys.wait_for_job not supported in transaction block")));
  for (;;) {
    char* status = committed_job_status(job_id);
    /* An unknown id is waited for, as DSQL does, until the transaction age limit. */
    if (status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                   strcmp(status, "cancelled") == 0)) {
      values[0] = BoolGetDatum(strcmp(status, "completed") == 0);
      break;
    }
    dsql_check_transaction_age();
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 20L,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
  if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "dsql_rules: procedure must return a record");
  desc = BlessTupleDesc(desc);
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

void dsql_wake_job_worker(void) {
  Latch* latch;
  SpinLockAcquire(&dsql_shared->mutex);
  latch = dsql_shared->worker_latch;
  SpinLockRelease(&dsql_shared->mutex);
  if (latch) SetLatch(latch);
}
