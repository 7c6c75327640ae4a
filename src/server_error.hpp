#pragma once

// Turning libpq's failures into the connector's exceptions, with a diagnosis for refused logins.

#include <string>

#include "dsql/config.hpp"
#include "dsql/errors.hpp"

typedef struct pg_result PGresult;
typedef struct pg_conn PGconn;

namespace dsql::detail {

// The fields of a server error as libpq reports them in verbose mode.
struct server_error_fields {
  std::string severity, sqlstate, message, detail, hint;
};

// Parses "FATAL:  28000: message\nDETAIL:  ...\nHINT:  ...\nLOCATION: ..." (libpq, verbose).
server_error_fields parse_verbose_error(const std::string& text);

// Explains a DSQL login refusal in terms the user can act on. `settings` says what we signed.
std::string diagnose_refusal(const server_error_fields& fields, const resolved_config& settings);

// Throws auth_error for a refused login (SQLSTATE 28000 or 28P01), else connection_error.
[[noreturn]] void throw_connect_failure(const std::string& libpq_message,
                                        const resolved_config& settings);

// Throws sql_error (or connection_error when the connection broke) for a failed result.
[[noreturn]] void throw_result_error(PGconn* conn, PGresult* res);

}  // namespace dsql::detail
