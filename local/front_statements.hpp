#pragma once

// The few statements the front itself must understand, because PostgreSQL cannot parse them or
// they are the front's own: DSQL LOCAL fault commands, AWS IAM GRANT/REVOKE, and the ASYNC of
// CREATE INDEX ASYNC / ALTER TABLE ASYNC. Everything else DSQL refuses is judged inside
// PostgreSQL by the dsql_rules library (local/extension/), on PostgreSQL's own parse trees.
//
// Works on SQL text with a small tokenizer (leading keywords only, after whitespace and comments)
// and splits multi-statement strings on top-level semicolons. I/O-free.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "local/wire_protocol.hpp"

namespace dsql::local {

enum class statement_kind {
  empty,                // only whitespace or comments
  other,                // anything PostgreSQL runs as written
  begin,                // BEGIN / START TRANSACTION
  commit,               // COMMIT / END [WORK | TRANSACTION] [AND [NO] CHAIN]
  rollback,             // ROLLBACK / ABORT (not ROLLBACK TO)
  malformed,            // a front command with bad syntax; see `error`
  fail_next_commit,     // DSQL LOCAL FAIL NEXT COMMIT WITH OC000 [TIMES n]
  fail_next_statement,  // DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 [TIMES n]
  reset_faults,         // DSQL LOCAL RESET FAULTS
  stop_endpoint,        // DSQL LOCAL STOP ENDPOINT '<cluster id or region>'
  start_endpoint,       // DSQL LOCAL START ENDPOINT '<cluster id or region>'
  iam_grant,            // AWS IAM GRANT <role> TO '<arn>'
  iam_revoke,           // AWS IAM REVOKE <role> FROM '<arn>'
};

struct statement_class {
  statement_kind kind = statement_kind::other;
  wire::error_info error;  // malformed
  std::uint32_t times = 1;
  std::string role;
  std::string arn;
  std::string endpoint;
  // What PostgreSQL 15 runs instead: CREATE INDEX ASYNC / ALTER TABLE ASYNC as the CALL that
  // submits the job; PostgreSQL 16's ADD COLUMN ... STORAGE as ADD COLUMN, ALTER COLUMN.
  std::optional<std::string> rewritten;

  // Front-handled statements are answered by the front, never run by PostgreSQL as written.
  bool front_command() const noexcept {
    return kind == statement_kind::malformed || kind == statement_kind::fail_next_commit ||
           kind == statement_kind::fail_next_statement || kind == statement_kind::reset_faults ||
           kind == statement_kind::stop_endpoint || kind == statement_kind::start_endpoint ||
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

// `text` as a dollar-quoted literal whose tag does not occur in it: immune to
// standard_conforming_strings and to any quote or backslash in the text.
std::string dollar_quote(std::string_view text);

// A statement PostgreSQL runs to raise exactly this error (sys.dsql_local_raise, from the
// dsql_rules library), so that its own transaction state (aborted block, implicit transaction)
// stays right. With `parameters` > 0 it also takes $1..$n, for a Parse whose Bind supplies them.
std::string raise_statement(const wire::error_info& error, int parameters = 0);
// How many parameters PostgreSQL will expect for this Parse: the declared types or the highest
// $n in the text, whichever is more.
int parse_parameter_count(std::string_view sql, std::string_view parse_rest);

// arn:<partition>:iam::<12 digits>:(role|user)/<name>
bool valid_iam_arn(std::string_view arn);

}  // namespace dsql::local
