#pragma once

// The objects the front makes in the backing PostgreSQL (schema sys), once per start: DSQL's
// sys.iam_pg_role_mappings, sys.jobs and sys.wait_for_job, and the entry points of the dsql_rules
// library the front and the rules call. Idempotent.

namespace dsql::local {

extern const char* const backend_schema_sql;

}  // namespace dsql::local
