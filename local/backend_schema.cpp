#include "local/backend_schema.hpp"

namespace dsql::local {

const char* const backend_schema_sql = R"sql(
CREATE SCHEMA IF NOT EXISTS sys;
GRANT USAGE ON SCHEMA sys TO PUBLIC;

-- IAM role mappings (AWS IAM GRANT / REVOKE). PUBLIC may read them, as on DSQL; only the front
-- writes them.
CREATE SEQUENCE IF NOT EXISTS sys.iam_oid_seq START 16384;
CREATE TABLE IF NOT EXISTS sys.iam_pg_role_mappings (
  iam_oid oid NOT NULL DEFAULT nextval('sys.iam_oid_seq')::oid,
  arn text NOT NULL,
  pg_role_oid oid NOT NULL,
  pg_role_name name NOT NULL,
  grantor_pg_role_oid oid NOT NULL,
  grantor_pg_role_name name NOT NULL,
  PRIMARY KEY (arn, pg_role_oid));
GRANT SELECT ON sys.iam_pg_role_mappings TO PUBLIC;

-- Async jobs (CREATE INDEX ASYNC, ALTER TABLE ASYNC, DROP). Written by dsql_rules as the
-- bootstrap superuser; sys.jobs shows them as DSQL does, the object's name looked up live.
CREATE TABLE IF NOT EXISTS sys.dsql_local_jobs (
  job_id text PRIMARY KEY,
  status text NOT NULL,
  details text,
  job_type text NOT NULL,
  class_id oid NOT NULL,
  object_id oid NOT NULL,
  target_name text,
  start_time timestamptz NOT NULL,
  update_time timestamptz);
GRANT SELECT ON sys.dsql_local_jobs TO PUBLIC;
CREATE OR REPLACE VIEW sys.jobs AS
  SELECT job_id, status, details, job_type, class_id, object_id,
    CASE class_id
      WHEN 'pg_class'::regclass THEN
        (SELECT n.nspname || '.' || c.relname FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = j.object_id)
      WHEN 'pg_constraint'::regclass THEN
        (SELECT n.nspname || '.' || co.conname FROM pg_constraint co
           JOIN pg_namespace n ON n.oid = co.connamespace WHERE co.oid = j.object_id)
    END AS object_name,
    start_time, update_time
  FROM sys.dsql_local_jobs j ORDER BY start_time, job_id;
GRANT SELECT ON sys.jobs TO PUBLIC;

-- DSQL's procedure; it returns one row, succeeded.
CREATE OR REPLACE PROCEDURE sys.wait_for_job(job_id text, INOUT succeeded boolean DEFAULT NULL)
  LANGUAGE C AS 'dsql_rules', 'dsql_wait_for_job';

-- What the front runs for CREATE INDEX ASYNC and ALTER TABLE ASYNC (PostgreSQL cannot parse
-- ASYNC); each returns the job_id row.
CREATE OR REPLACE PROCEDURE sys.dsql_local_create_index_async(statement text,
    INOUT job_id text DEFAULT NULL)
  LANGUAGE C AS 'dsql_rules', 'dsql_create_index_async';
CREATE OR REPLACE PROCEDURE sys.dsql_local_alter_table_async(statement text,
    INOUT job_id text DEFAULT NULL)
  LANGUAGE C AS 'dsql_rules', 'dsql_alter_table_async';
-- The front: "this session lost a write conflict"; and an error raised on its behalf.
DROP PROCEDURE IF EXISTS sys.dsql_local_doom();
CREATE OR REPLACE PROCEDURE sys.dsql_local_doom(kind text) LANGUAGE C
  AS 'dsql_rules', 'dsql_local_doom';
DROP FUNCTION IF EXISTS sys.dsql_local_raise(text, text, text, text);
CREATE OR REPLACE FUNCTION sys.dsql_local_raise(code text, message text, hint text)
  RETURNS void LANGUAGE C AS 'dsql_rules', 'dsql_local_raise';
-- DSQL's answers for version(), set_config() and current_setting(), swapped in at plan time.
CREATE OR REPLACE FUNCTION sys.dsql_local_version() RETURNS text
  LANGUAGE C STABLE AS 'dsql_rules', 'dsql_local_version';
CREATE OR REPLACE FUNCTION sys.dsql_local_set_config(text, text, boolean) RETURNS text
  LANGUAGE C AS 'dsql_rules', 'dsql_local_set_config';
CREATE OR REPLACE FUNCTION sys.dsql_local_current_setting(text) RETURNS text
  LANGUAGE C STABLE STRICT AS 'dsql_rules', 'dsql_local_current_setting';
CREATE OR REPLACE FUNCTION sys.dsql_local_current_setting(text, boolean) RETURNS text
  LANGUAGE C STABLE STRICT AS 'dsql_rules', 'dsql_local_current_setting';
)sql";

}  // namespace dsql::local
