/*
 * dsql_rules: the part of `dsql local` that runs inside PostgreSQL.
 *
 * The TLS front authenticates clients and relays their sessions; this library, preloaded into the
 * backing PostgreSQL, makes those sessions answer SQL as Aurora DSQL does. It sees statements as
 * PostgreSQL's own parser produced them (utility statements, analysed queries, executor runs,
 * transaction events), so schema-qualified names, quoting, multi-statement strings and the
 * extended protocol all look alike to it.
 *
 * Rules apply only to sessions the front opens for its clients (dsql_rules.client_session, which
 * only a startup packet can set); the front's own bookkeeping and the job worker are exempt.
 *
 * Files: dsql_rules.c (hooks, settings, shared state), statement_rules.c (which utility statements
 * DSQL refuses), query_rules.c (analysed queries), column_rules.c (column types, identity,
 * sequences), transaction_rules.c (DDL/DML per transaction, limits, OCC), jobs.c (async index
 * builds, sys.jobs, sys.wait_for_job, the job worker).
 */
#ifndef DSQL_RULES_H
#define DSQL_RULES_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "parser/parse_node.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "tcop/utility.h"

/* Settings (postgresql.conf or the postmaster's command line; `dsql local` passes them). */
extern bool dsql_client_session;
extern int dsql_max_transaction_rows;
extern int dsql_max_transaction_kb;
extern int dsql_max_transaction_age_s;
extern int dsql_job_delay_ms;

/* State shared by every backend. */
typedef struct dsql_shared_state {
  /* Bumped by every committed catalog change (DDL, GRANT, REVOKE, a finished index build). */
  pg_atomic_uint64 catalog_version;
  /* The job worker's latch, so that a commit that queued a job wakes it at once. */
  Latch* worker_latch;
  slock_t mutex;
} dsql_shared_state;

extern dsql_shared_state* dsql_shared;

/* Rules apply to this statement: a client session, and not the extension's own SPI work. */
extern bool dsql_rules_active(void);
/* Brackets SPI work done on a client's behalf (job bookkeeping), which rules must not count. */
extern void dsql_internal_begin(void);
extern void dsql_internal_end(void);

/* statement_rules.c: refuses utility statements DSQL does not accept (raises ERROR). */
extern void dsql_check_utility(PlannedStmt* pstmt, ProcessUtilityContext context);
/* Whether a utility statement counts as DDL for DSQL's one-DDL-per-transaction rule. */
extern bool dsql_is_ddl(Node* parsetree);

/* query_rules.c: refuses analysed queries DSQL does not accept, and swaps in DSQL's answers for
 * version(), set_config() and current_setting(). */
extern void dsql_check_query(ParseState* pstate, Query* query);
extern bool dsql_setting_settable(const char* name);
extern bool dsql_setting_unknown(const char* name);

/* column_rules.c: column types, serial, identity and sequence caches. */
extern void dsql_check_column_def(ColumnDef* column, bool alter_table);
extern void dsql_check_sequence_options(List* options, bool identity);
extern const char* dsql_unsupported_column_type(TypeName* type_name);
/* A key (primary key, unique constraint, index) of these columns: at most 8, none jsonb. */
extern void dsql_check_key_columns(CreateStmt* table, List* column_names);
extern void dsql_check_key_count(int keys);
extern void dsql_check_key_type(Oid type);

/* transaction_rules.c */
extern void dsql_transaction_rules_init(void);
/* A statement starts: stale catalog (OC001), doomed transaction (OC000), age limit. */
extern void dsql_statement_start(bool transaction_control);
extern void dsql_check_transaction_age(void);
extern void dsql_note_ddl(void);
extern void dsql_note_dml(void);
extern void dsql_add_rows(uint64 rows);
extern void dsql_note_job_submitted(void);
extern void dsql_bump_catalog_version(void);

/* The extension's own procedures, as a CALL names them (jobs.c). */
typedef enum dsql_call_kind {
  DSQL_CALL_OTHER,
  DSQL_CALL_CREATE_INDEX_ASYNC, /* CREATE INDEX ASYNC, as the front rewrites it */
  DSQL_CALL_ALTER_TABLE_ASYNC,  /* ALTER TABLE ASYNC ... VALIDATE CONSTRAINT */
  DSQL_CALL_DOOM,               /* the front's "this transaction lost a conflict" */
} dsql_call_kind;
extern dsql_call_kind dsql_classify_call(Node* parsetree);

/* jobs.c */
extern void dsql_register_job_worker(void);
extern void dsql_record_drop_jobs(DropStmt* stmt);
extern void dsql_wake_job_worker(void);

#endif
