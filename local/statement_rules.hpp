#pragma once

// DSQL's session rules as a statement classifier: which statements the front refuses, which are
// transaction control, and the front's own commands (fault injection, AWS IAM GRANT/REVOKE).
// Works on SQL text without a full parser: it looks at leading keywords only, after skipping
// whitespace and comments, and splits multi-statement strings on top-level semicolons.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "local/wire_protocol.hpp"

namespace dsql::local {

enum class statement_kind {
  empty,                // only whitespace or comments
  other,                // anything the front passes through untouched
  begin,                // BEGIN / START TRANSACTION (allowed isolation)
  commit,               // COMMIT / END [WORK | TRANSACTION] [AND [NO] CHAIN]
  rollback,             // ROLLBACK / ABORT (not ROLLBACK TO)
  refused,              // see `error`
  fail_next_commit,     // DSQL LOCAL FAIL NEXT COMMIT WITH OC000 [TIMES n]
  fail_next_statement,  // DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 [TIMES n]
  reset_faults,         // DSQL LOCAL RESET FAULTS
  iam_grant,            // AWS IAM GRANT <role> TO '<arn>'
  iam_revoke,           // AWS IAM REVOKE <role> FROM '<arn>'
};

struct statement_class {
  statement_kind kind = statement_kind::other;
  wire::error_info error;  // refused (and malformed front commands)
  std::uint32_t times = 1;
  std::string role;
  std::string arn;

  // Front-handled statements are answered by the front, never run by PostgreSQL as written.
  bool front_command() const noexcept {
    return kind == statement_kind::fail_next_commit ||
           kind == statement_kind::fail_next_statement || kind == statement_kind::reset_faults ||
           kind == statement_kind::iam_grant || kind == statement_kind::iam_revoke;
  }
  bool transaction_control() const noexcept {
    return kind == statement_kind::begin || kind == statement_kind::commit ||
           kind == statement_kind::rollback;
  }
};

statement_class classify_statement(std::string_view sql);

// A statement's byte range inside the original text, without its terminating semicolon.
struct statement_span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// Splits on semicolons outside quotes, dollar quotes and comments. Empty statements are dropped.
std::vector<statement_span> split_statements(std::string_view sql);

// A statement PostgreSQL runs to raise exactly this error, so that its own transaction state
// (aborted block, implicit transaction) stays right. `marker` goes in DETAIL so that the front can
// recognise the error and strip the PL/pgSQL context before the client sees it.
std::string raise_statement(const wire::error_info& error);
// The same error from a statement that takes `parameters` parameters ($1..$n), for a Parse
// whose Bind will supply them. Needs sys.dsql_local_raise (made by the front's bookkeeping).
std::string raise_statement(const wire::error_info& error, int parameters);
// How many parameters PostgreSQL will expect for this Parse: the declared types or the highest
// $n in the text, whichever is more.
int parse_parameter_count(std::string_view sql, std::string_view parse_rest);
inline constexpr std::string_view raise_marker = "dsql-local-front";

// arn:<partition>:iam::<12 digits>:(role|user)/<name>
bool valid_iam_arn(std::string_view arn);

}  // namespace dsql::local
