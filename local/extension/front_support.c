/*
 * sys.dsql_local_raise(code, message, hint): an error the front raises for a client (a malformed
 * front command, a refused AWS IAM GRANT, an injected OC001). Raising it in PostgreSQL keeps the
 * session's transaction state exactly what it would be after a real error.
 */
#include "dsql_rules.h"

#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(dsql_local_raise);

Datum dsql_local_raise(PG_FUNCTION_ARGS) {
  char* code = PG_ARGISNULL(0) ? "XX000" : text_to_cstring(PG_GETARG_TEXT_PP(0));
  char* message = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
  char* hint = PG_ARGISNULL(2) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(2));
  if (strlen(code) != 5) code = "XX000";
  ereport(ERROR, (errcode(MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4])),
                  errmsg_internal("%s", message), hint[0] ? errhint("%s", hint) : 0));
  PG_RETURN_VOID();
}
