/*
 * DSQL's session parameters, shared by the extension (SET, set_config, SHOW, current_setting)
 * and the front (startup packets), so that both refuse the same names. Valid C and C++.
 */
#ifndef DSQL_SETTINGS_LIST_H
#define DSQL_SETTINGS_LIST_H

/* Parameters a DSQL client may set (DSQL's documentation, "Session parameters"); every other SET
 * is refused with `setting configuration parameter "<name>" not supported`. Compared
 * case-insensitively. `role` is settable only with SET LOCAL inside a transaction block. */
static const char* const dsql_settable_parameters[] = {
    "application_name",
    "client_encoding",
    "datestyle",
    "extra_float_digits",
    "intervalstyle",
    "search_path",
    "timezone",
    "enable_bitmapscan",
    "enable_hashjoin",
    "enable_indexonlyscan",
    "enable_indexscan",
    "enable_material",
    "enable_mergejoin",
    "enable_nestloop",
    "enable_seqscan",
    "dsql.enable_batched_nestloop",
    0,
};

/* Parameters PostgreSQL 15 has and DSQL (PostgreSQL 16) does not: unknown to SHOW. */
static const char* const dsql_unknown_parameters[] = {
    "lc_collate",
    "lc_ctype",
    "force_parallel_mode",
    "promote_trigger_file",
    "vacuum_defer_cleanup_age",
    0,
};

#endif
