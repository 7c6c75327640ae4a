#include "local/relay_rules.hpp"

#include <algorithm>
#include <cctype>

namespace dsql::local {
namespace {

constexpr std::string_view oc000 = "change conflicts with another transaction (OC000)";
constexpr std::string_view oc001 = "schema has been updated by another transaction (OC001)";

bool injectable(const statement_class& c, char transaction_status) {
  return transaction_status != 'E' && !c.transaction_control() && c.kind != statement_kind::empty;
}

}  // namespace

classified_query classify_query(std::string_view sql) {
  classified_query q;
  q.spans = split_statements(sql);
  q.classes.reserve(q.spans.size());
  for (const auto& s : q.spans)
    q.classes.push_back(classify_statement(sql.substr(s.begin, s.end - s.begin)));
  return q;
}

bool answered_by_front(const classified_query& query, const fault_counters& faults) {
  if (query.classes.size() != 1) return false;
  const statement_class& c = query.classes[0];
  return c.front_command() || (c.kind == statement_kind::commit && faults.fail_commit > 0);
}

query_plan plan_query(std::string_view sql, const classified_query& query, char transaction_status,
                      fault_counters& faults) {
  query_plan plan;
  const auto& classes = query.classes;
  if (classes.size() == 1 && classes[0].front_command()) {
    plan.what = query_plan::action::front_command;
    plan.command = classes[0];
    return plan;
  }
  if (classes.size() == 1 && classes[0].kind == statement_kind::commit && faults.fail_commit > 0 &&
      transaction_status == 'T') {
    --faults.fail_commit;
    plan.what = query_plan::action::fail_commit;
    return plan;
  }
  if (std::any_of(classes.begin(), classes.end(),
                  [](const statement_class& c) { return c.front_command(); })) {
    plan.sql = raise_statement(
        {"0A000", "DSQL LOCAL and AWS IAM commands must be sent alone, as simple queries", {}});
    return plan;
  }
  // Each statement as PostgreSQL runs it: ASYNC forms become CALLs, and an armed OC001 replaces
  // the first statement it applies to (PostgreSQL runs nothing after an error).
  std::string out;
  std::size_t copied = 0;
  for (std::size_t i = 0; i < classes.size(); ++i) {
    const statement_class& c = classes[i];
    std::optional<std::string> replacement = c.rewritten;
    bool stop = false;
    if (faults.fail_statement > 0 && injectable(c, transaction_status)) {
      --faults.fail_statement;
      plan.injected_oc001 = true;
      replacement = raise_statement({"40001", std::string(oc001), {}});
      stop = true;
    }
    if (replacement) {
      // The statement's leading whitespace stays where it was, between the statements.
      std::size_t start = query.spans[i].begin;
      while (start < query.spans[i].end && std::isspace(static_cast<unsigned char>(sql[start]))) {
        ++start;
      }
      out.append(sql, copied, start - copied);
      out += *replacement;
      copied = query.spans[i].end;
    }
    if (stop) break;
  }
  if (copied == 0) {
    plan.sql.assign(sql);
  } else {
    out.append(sql, copied, std::string_view::npos);
    plan.sql = std::move(out);
  }
  return plan;
}

parse_plan plan_parse(const wire::parse_message& parse, char transaction_status,
                      fault_counters& faults) {
  parse_plan plan;
  const statement_class c = classify_statement(parse.query);
  const int parameters = parse_parameter_count(parse.query, parse.rest);
  if (c.front_command()) {
    plan.query = raise_statement(
        {"0A000", "DSQL LOCAL and AWS IAM commands must be sent as simple queries", {}},
        parameters);
  } else if (faults.fail_statement > 0 && parse.statement.empty() &&
             injectable(c, transaction_status)) {
    // Only unnamed statements: a named one would keep failing every time the driver reuses it.
    --faults.fail_statement;
    plan.injected_oc001 = true;
    plan.query = raise_statement({"40001", std::string(oc001), {}}, parameters);
  } else if (c.rewritten) {
    plan.query = c.rewritten;
  }
  return plan;
}

std::optional<wire::error_fields> translate_error(const wire::error_fields& fields,
                                                  conflict_cancel cancelled) {
  const std::string* code = wire::find_field(fields, 'C');
  const std::string* message = wire::find_field(fields, 'M');
  if (!code) return std::nullopt;
  const bool dsql_text = message && (message->find("(OC000)") != std::string::npos ||
                                     message->find("(OC001)") != std::string::npos);
  const bool cancelled_here = *code == "57014" && cancelled != conflict_cancel::none;
  const bool conflict =
      (*code == "40001" && !dsql_text) || *code == "40P01" || *code == "55P03" || cancelled_here;
  if (!conflict) return std::nullopt;
  wire::error_fields rewritten;
  for (const auto& f : fields) {
    if (f.first == 'S' || f.first == 'V') rewritten.push_back(f);
  }
  rewritten.emplace_back('C', "40001");
  rewritten.emplace_back(
      'M', std::string(cancelled_here && cancelled == conflict_cancel::schema ? oc001 : oc000));
  return rewritten;
}

}  // namespace dsql::local
