#pragma once

// libpq steps shared by the blocking connector, the pool and the asynchronous adapter.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsql/config.hpp"
#include "dsql/errors.hpp"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace dsql::detail {

// A conninfo value in single quotes with \ and ' escaped, as libpq's parser expects.
std::string conninfo_quote(std::string_view value);
// `key='value'` pairs separated by spaces: the conninfo string libpqxx, SOCI and psql take.
std::string conninfo_string(const std::vector<std::pair<std::string, std::string>>& params);

// A libpq notice receiver (PQsetNoticeReceiver) that hands each notice to the
// dsql::notice_handler `arg` points to (nullptr or empty: dropped). Never throws into libpq.
void deliver_notice(void* arg, const PGresult* res);

// PQconnectStartParams with `params` and the token as the password, verbose errors on (they
// must be set before the server answers). Never null; check PQstatus for CONNECTION_BAD.
PGconn* start_libpq(const std::vector<std::pair<std::string, std::string>>& params,
                    const std::string& token);

// The error for a connect that ran past the configured connect_timeout.
connection_error connect_timeout_error(const resolved_config& settings);

// An idle connection is usable as far as can be told without a round trip: open, and nothing
// but notices waiting on its socket (the caller checks that no transaction is open). Does not
// block.
bool idle_connection_alive(PGconn* conn);

}  // namespace dsql::detail
