#include <algorithm>

#include "local/relay_rules.hpp"
#include "local/session.hpp"
#include "local/session_internal.hpp"
#include "util/printable.hpp"

namespace dsql::local {
namespace {

using session_detail::error;
using session_detail::oc000;

}  // namespace

void session::relay_backend_message(wire::message& m) {
  if (internal_replies_ > 0) {
    // The answer to the front's own query: the client never sees it.
    if (m.type == 'Z') {
      txn_status_ = m.body.empty() ? 'I' : m.body[0];
      if (--internal_replies_ == 0) {
        paused_ = false;
        resume_client();
      }
    }
    return;
  }
  switch (m.type) {
    case 'C':
      if (pending_ == pending_reply::commit_failure) {
        // The ROLLBACK that stood in for the armed COMMIT: report it as DSQL's OCC failure.
        return send_client(wire::error_response("ERROR", error("40001", std::string(oc000))));
      }
      break;
    case 'E':
      if (auto fields = wire::parse_error_fields(m.body)) {
        const std::string* code = wire::find_field(*fields, 'C');
        const conflict_cancel cancelled =
            code && *code == "57014" ? conflict_cancel_ : conflict_cancel::none;
        if (cancelled != conflict_cancel::none) conflict_cancel_ = conflict_cancel::none;
        if (auto translated = translate_error(*fields, cancelled)) {
          return send_client(wire::frame('E', wire::build_error_fields(*translated)));
        }
      }
      break;
    case 'Z':
      txn_status_ = m.body.empty() ? 'I' : m.body[0];
      pending_ = pending_reply::none;
      if (outstanding_ > 0) --outstanding_;
      if (outstanding_ == 0) {
        state_since_ = std::chrono::steady_clock::now();
        if (ctx_.conflicts) ctx_.conflicts->statement_finished(*this);
      }
      send_client(wire::frame(m.type, m.body));
      if (age_expired_ && txn_status_ == 'I' && outstanding_ == 0) {
        ctx_.log(tag() + "maximum connection age reached; closing");
        return close_after_flush();
      }
      if (outstanding_ == 0 && paused_ && stashed_) {
        wire::message next = std::move(*stashed_);
        stashed_.reset();
        paused_ = false;
        if (on_client_message(next)) resume_client();
      }
      return;
    default:
      break;
  }
  send_client(wire::frame(m.type, m.body));
}

// ---- client messages (relay) ----------------------------------------------------------------

bool session::on_client_message(wire::message& m) {
  switch (m.type) {
    case 'Q':
      return on_query(m);
    case 'P':
      on_parse(m);
      return true;
    case 'S':
      extended_pending_ = false;
      expect_ready();
      break;
    case 'F':
      expect_ready();
      break;
    default:
      // Bind, Describe, Execute, Close: the statement completes at Sync.
      if (m.type == 'B' || m.type == 'D' || m.type == 'E' || m.type == 'C')
        extended_pending_ = true;
      break;
  }
  send_backend(wire::frame(m.type, m.body));
  return true;
}

void session::forward_raise(const wire::error_info& err) {
  expect_ready();
  send_backend(wire::build_query(raise_statement(err)));
}

void session::front_reply(const std::string& command_tag) {
  send_client(wire::command_complete(command_tag));
  send_client(wire::ready_for_query(txn_status_));
}

bool session::on_query(const wire::message& m) {
  const auto sql = wire::parse_query(m.body);
  if (!sql) {
    send_backend(wire::frame(m.type, m.body));
    expect_ready();
    return true;
  }
  const classified_query query = classify_query(*sql);
  // The front answers these itself, so it must know the transaction state: wait for the backend
  // to answer everything sent before.
  if (answered_by_front(query, ctx_.faults) && outstanding_ > 0) {
    stashed_ = m;
    paused_ = true;
    return false;
  }
  query_plan plan = plan_query(*sql, query, txn_status_, ctx_.faults);
  switch (plan.what) {
    case query_plan::action::front_command:
      return run_front_command(plan.command);
    case query_plan::action::fail_commit:
      ctx_.log(tag() + "injected OC000 at COMMIT");
      pending_ = pending_reply::commit_failure;
      expect_ready();
      send_backend(wire::build_query("ROLLBACK"));
      return true;
    case query_plan::action::forward:
      break;
  }
  if (plan.injected_oc001) ctx_.log(tag() + "injected OC001");
  expect_ready();
  if (plan.sql.size() == sql->size() && plan.sql == *sql) {
    send_backend(wire::frame(m.type, m.body));
  } else {
    send_backend(wire::build_query(plan.sql));
  }
  return true;
}

void session::expect_ready() {
  if (outstanding_++ != 0) return;
  state_since_ = std::chrono::steady_clock::now();
  if (ctx_.conflicts) ctx_.conflicts->statement_started(*this);
}

bool session::idle_in_transaction() const noexcept {
  return phase_ == phase::relay && txn_status_ == 'T' && outstanding_ == 0 && !paused_ &&
         internal_replies_ == 0 && !extended_pending_;
}

void session::doom(bool schema) {
  if (!idle_in_transaction()) return;
  ctx_.log(tag() + "lost a " + (schema ? "schema" : "write") +
           " conflict; its transaction is rolled back");
  internal_replies_ = 1;
  paused_ = true;
  // A fresh transaction in its place, marked so that its first statement or COMMIT fails.
  send_backend(wire::build_query(std::string("ROLLBACK; BEGIN; CALL sys.dsql_local_doom('") +
                                 (schema ? "OC001" : "OC000") + "')"));
}

void session::cancel_for_conflict(bool schema) {
  ctx_.log(tag() + "lost a " + (schema ? "schema" : "write") +
           " conflict; its statement is cancelled");
  conflict_cancel_ = schema ? conflict_cancel::schema : conflict_cancel::data;
}

void session::on_parse(wire::message& m) {
  extended_pending_ = true;
  auto p = wire::parse_parse(m.body);
  if (!p) return send_backend(wire::frame(m.type, m.body));
  parse_plan plan = plan_parse(*p, txn_status_, ctx_.faults);
  if (plan.injected_oc001) ctx_.log(tag() + "injected OC001");
  if (!plan.query) return send_backend(wire::frame(m.type, m.body));
  // A raised error arrives at Execute; PostgreSQL's extended-protocol error handling (skip to
  // Sync) stays right.
  p->query = std::move(*plan.query);
  send_backend(wire::build_parse(*p));
}

bool session::run_front_command(const statement_class& c) {
  switch (c.kind) {
    case statement_kind::fail_next_commit:
      ctx_.faults.fail_commit += c.times;
      ctx_.log(tag() + "armed OC000 for the next " + std::to_string(c.times) + " COMMIT(s)");
      front_reply("DSQL LOCAL");
      return true;
    case statement_kind::fail_next_statement:
      ctx_.faults.fail_statement += c.times;
      ctx_.log(tag() + "armed OC001 for the next " + std::to_string(c.times) + " statement(s)");
      front_reply("DSQL LOCAL");
      return true;
    case statement_kind::reset_faults:
      ctx_.faults = {};
      front_reply("DSQL LOCAL");
      return true;
    case statement_kind::malformed:
      forward_raise(c.error);
      return true;
    case statement_kind::stop_endpoint:
    case statement_kind::start_endpoint: {
      const bool stop = c.kind == statement_kind::stop_endpoint;
      if (user_ != "admin") {
        forward_raise(error("42501", "only admin can stop or start an endpoint"));
        return true;
      }
      std::optional<wire::error_info> refused =
          ctx_.control_endpoint ? ctx_.control_endpoint(stop, c.endpoint)
                                : error("0A000", "this endpoint has no peer to stop or start");
      if (refused) {
        forward_raise(*refused);
      } else {
        front_reply("DSQL LOCAL");
      }
      return true;
    }
    case statement_kind::iam_grant:
    case statement_kind::iam_revoke: {
      const bool grant = c.kind == statement_kind::iam_grant;
      if (user_ != "admin") {
        forward_raise(error("42501", std::string("permission denied to ") +
                                         (grant ? "grant" : "revoke") + " IAM trust with role " +
                                         util::printable(c.role)));
        return true;
      }
      if (!valid_iam_arn(c.arn)) {
        forward_raise(error("22023", "IAM role must look like an IAM ARN"));
        return true;
      }
      paused_ = true;
      auto self = shared_from_this();
      auto done = [self, grant,
                   guard = asio::make_work_guard(ctx_.io)](std::optional<wire::error_info> result) {
        asio::post(self->ctx_.io, [self, grant, result] {
          if (self->phase_ == phase::closed) return;
          if (result) {
            self->forward_raise(*result);
          } else {
            self->front_reply(grant ? "AWS IAM GRANT" : "AWS IAM REVOKE");
          }
          self->resume_client();
        });
      };
      if (grant) {
        ctx_.bookkeeping.grant(c.role, c.arn, user_, std::move(done));
      } else {
        ctx_.bookkeeping.revoke(c.role, c.arn, std::move(done));
      }
      return false;
    }
    default:
      forward_raise(error("0A000", "unsupported front command"));
      return true;
  }
}

}  // namespace dsql::local
