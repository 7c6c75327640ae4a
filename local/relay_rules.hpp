#pragma once

// The front's decisions for a relayed session, without I/O: what to send PostgreSQL for a
// client's Query or Parse (rewritten ASYNC statements, injected faults, front commands), and
// what the client sees of PostgreSQL's errors. The session applies them to its sockets.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "local/front_statements.hpp"
#include "local/wire_protocol.hpp"

namespace dsql::local {

// Deterministic OCC fault injection, shared by every session of the endpoint.
struct fault_counters {
  std::uint32_t fail_commit = 0;     // next COMMITs fail with OC000
  std::uint32_t fail_statement = 0;  // next statements fail with OC001
};

struct classified_query {
  std::vector<statement_span> spans;
  std::vector<statement_class> classes;
};
classified_query classify_query(std::string_view sql);

// Whether the front answers this Query itself (a front command, or an armed COMMIT), for which it
// must first know the backend's transaction status: the caller waits until PostgreSQL has
// answered everything sent before.
bool answered_by_front(const classified_query& query, const fault_counters& faults);

struct query_plan {
  enum class action {
    forward,        // send `sql` to PostgreSQL
    front_command,  // the front answers `command` itself
    fail_commit,    // an armed OC000: roll back instead, and answer the COMMIT with OC000
  };
  action what = action::forward;
  std::string sql;  // forward: the client's text, or its rewrite
  statement_class command;
  bool injected_oc001 = false;
};
// `transaction_status` is PostgreSQL's last ReadyForQuery status: 'I', 'T' or 'E'.
query_plan plan_query(std::string_view sql, const classified_query& query, char transaction_status,
                      fault_counters& faults);

struct parse_plan {
  std::optional<std::string> query;  // the text PostgreSQL parses instead, if any
  bool injected_oc001 = false;
};
parse_plan plan_parse(const wire::parse_message& parse, char transaction_status,
                      fault_counters& faults);

// Why the front cancelled a statement, if it did: it lost a write conflict (OC000) or a schema
// conflict (OC001).
enum class conflict_cancel { none, data, schema };

// DSQL's face on PostgreSQL's errors: serialization failures, deadlocks and lock timeouts are
// DSQL's OC000, and so is (or OC001) a statement the front cancelled to settle a conflict.
// nullopt: the error goes to the client as it is.
std::optional<wire::error_fields> translate_error(const wire::error_fields& fields,
                                                  conflict_cancel cancelled);

}  // namespace dsql::local
