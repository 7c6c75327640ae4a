#include "local/front_statements.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "sql/sql_text.hpp"

namespace dsql::local {
namespace {

using sql_text::dollar_tag;
using sql_text::is_word;
using sql_text::read_quoted;
using sql_text::skip_blank;
using sql_text::token;
using sql_text::token_type;
using sql_text::tokenize;
using sql_text::word_char;

statement_class malformed(std::string message) {
  statement_class c;
  c.kind = statement_kind::malformed;
  c.error = {"42601", std::move(message), {}};
  return c;
}

std::optional<std::uint32_t> parse_times(const std::vector<token>& t, std::size_t i) {
  if (i == t.size()) return 1;
  if (i + 2 != t.size() || !is_word(t, i, "TIMES")) return std::nullopt;
  const std::string& n = t[i + 1].text;
  if (n.empty() || n.size() > 7) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : n) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (v == 0) return std::nullopt;
  return v;
}

statement_class dsql_local_command(const std::vector<token>& t) {
  const statement_class bad = malformed(
      "syntax error in DSQL LOCAL command; expected DSQL LOCAL FAIL NEXT COMMIT WITH "
      "OC000 [TIMES n], DSQL LOCAL FAIL NEXT STATEMENT WITH OC001 [TIMES n], DSQL "
      "LOCAL RESET FAULTS, or DSQL LOCAL STOP|START ENDPOINT '<cluster id or region>'");
  if (is_word(t, 2, "RESET") && is_word(t, 3, "FAULTS") && t.size() == 4) {
    statement_class c;
    c.kind = statement_kind::reset_faults;
    return c;
  }
  if ((is_word(t, 2, "STOP") || is_word(t, 2, "START")) && is_word(t, 3, "ENDPOINT")) {
    if (t.size() != 5 || t[4].type != token_type::string_literal || t[4].text.empty()) return bad;
    statement_class c;
    c.kind = is_word(t, 2, "STOP") ? statement_kind::stop_endpoint : statement_kind::start_endpoint;
    c.endpoint = t[4].text;
    return c;
  }
  if (!is_word(t, 2, "FAIL") || !is_word(t, 3, "NEXT") || !is_word(t, 5, "WITH")) return bad;
  statement_class c;
  if (is_word(t, 4, "COMMIT") && is_word(t, 6, "OC000")) {
    c.kind = statement_kind::fail_next_commit;
  } else if (is_word(t, 4, "STATEMENT") && is_word(t, 6, "OC001")) {
    c.kind = statement_kind::fail_next_statement;
  } else {
    return bad;
  }
  const auto times = parse_times(t, 7);
  if (!times) return bad;
  c.times = *times;
  return c;
}

statement_class iam_command(const std::vector<token>& t) {
  const statement_class bad = malformed(
      "syntax error in AWS IAM command; expected AWS IAM GRANT <role> TO '<arn>' or "
      "AWS IAM REVOKE <role> FROM '<arn>'");
  const bool grant = is_word(t, 2, "GRANT");
  if (!grant && !is_word(t, 2, "REVOKE")) return bad;
  if (t.size() != 6 || !is_word(t, 4, grant ? "TO" : "FROM") ||
      t[5].type != token_type::string_literal) {
    return bad;
  }
  statement_class c;
  c.kind = grant ? statement_kind::iam_grant : statement_kind::iam_revoke;
  if (t[3].type == token_type::word) {
    for (char ch : t[3].text) {
      c.role.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
  } else if (t[3].type == token_type::quoted_identifier) {
    c.role = t[3].text;
  } else {
    return bad;
  }
  c.arn = t[5].text;
  return c;
}

// The CALL that stands for CREATE [UNIQUE] INDEX ASYNC or ALTER TABLE ASYNC: the statement
// without its ASYNC, handed to the dsql_rules procedure that submits the job.
std::optional<std::string> async_call(std::string_view sql, const std::vector<token>& t) {
  const sql_text::async_keyword async = sql_text::find_async_keyword(t);
  if (async.kind == sql_text::async_kind::none) return std::nullopt;
  const char* procedure = async.kind == sql_text::async_kind::create_index
                              ? "sys.dsql_local_create_index_async"
                              : "sys.dsql_local_alter_table_async";
  return "CALL " + std::string(procedure) + "(" +
         dollar_quote(sql_text::without_async(sql, async)) + ")";
}

// PostgreSQL 16's ADD COLUMN ... STORAGE <mode>, which PostgreSQL 15 cannot parse: the same as
// ADD COLUMN ..., ALTER COLUMN ... SET STORAGE <mode>, in one statement.
std::optional<std::string> column_storage_rewrite(std::string_view sql,
                                                  const std::vector<token>& t) {
  if (!is_word(t, 0, "ALTER") || !is_word(t, 1, "TABLE")) return std::nullopt;
  std::size_t add = 0;
  for (std::size_t i = 2; i < t.size() && add == 0; ++i) {
    if (is_word(t, i, "ADD")) add = i;
  }
  if (add == 0) return std::nullopt;
  std::size_t name = add + 1;
  if (is_word(t, name, "COLUMN")) ++name;
  if (is_word(t, name, "IF") && is_word(t, name + 1, "NOT") && is_word(t, name + 2, "EXISTS")) {
    name += 3;
  }
  if (name + 1 >= t.size()) return std::nullopt;
  for (std::size_t i = name + 1; i + 1 < t.size(); ++i) {
    if (!is_word(t, i, "STORAGE") || is_word(t, i - 1, "SET")) continue;
    if (t[i + 1].type != token_type::word) return std::nullopt;
    std::string out(sql.substr(0, t[i].begin));
    out.append(sql.substr(t[i + 1].end));
    // Without a trailing semicolon: the statement is one of a query's.
    while (!out.empty() &&
           (out.back() == ';' || std::isspace(static_cast<unsigned char>(out.back())))) {
      out.pop_back();
    }
    out += ", ALTER COLUMN " + std::string(sql.substr(t[name].begin, t[name].end - t[name].begin)) +
           " SET STORAGE " + t[i + 1].text;
    return out;
  }
  return std::nullopt;
}

}  // namespace

statement_class classify_statement(std::string_view sql) {
  std::vector<token> t = tokenize(sql);
  // A trailing semicolon (from a Parse text) is not part of the statement's shape.
  while (!t.empty() && t.back().type == token_type::symbol && t.back().text == ";") t.pop_back();
  statement_class c;
  if (t.empty()) {
    c.kind = statement_kind::empty;
    return c;
  }
  const std::string& first = t[0].type == token_type::word ? t[0].text : std::string();

  if (first == "BEGIN" || (first == "START" && is_word(t, 1, "TRANSACTION"))) {
    c.kind = statement_kind::begin;
    return c;
  }
  if (first == "COMMIT" || first == "END") {
    if (!is_word(t, 1, "PREPARED")) c.kind = statement_kind::commit;
    return c;
  }
  if (first == "ROLLBACK" || first == "ABORT") {
    std::size_t i = 1;
    if (is_word(t, i, "WORK") || is_word(t, i, "TRANSACTION")) ++i;
    if (!is_word(t, i, "TO") && !is_word(t, 1, "PREPARED")) c.kind = statement_kind::rollback;
    return c;
  }
  if (first == "DSQL" && is_word(t, 1, "LOCAL")) return dsql_local_command(t);
  if (first == "AWS" && is_word(t, 1, "IAM")) return iam_command(t);
  if (first == "CREATE" || first == "ALTER") c.rewritten = async_call(sql, t);
  if (!c.rewritten && first == "ALTER") c.rewritten = column_storage_rewrite(sql, t);
  return c;
}

std::vector<statement_span> split_statements(std::string_view s) {
  std::vector<statement_span> out;
  std::size_t start = 0;
  std::size_t i = 0;
  auto push = [&](std::size_t end) {
    if (skip_blank(s.substr(0, end), start) < end) out.push_back({start, end});
  };
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\'' || c == '"') {
      i = read_quoted(s, i, c, nullptr);
    } else if ((c == '-' && i + 1 < s.size() && s[i + 1] == '-') ||
               (c == '/' && i + 1 < s.size() && s[i + 1] == '*')) {
      i = skip_blank(s, i);
    } else if (c == '$' && (i == 0 || !word_char(s[i - 1]))) {
      if (auto tag = dollar_tag(s, i)) {
        const std::size_t close = s.find(*tag, i + tag->size());
        i = close == std::string_view::npos ? s.size() : close + tag->size();
      } else {
        ++i;
      }
    } else if (c == ';') {
      push(i);
      start = ++i;
    } else {
      ++i;
    }
  }
  push(s.size());
  return out;
}

std::string dollar_quote(std::string_view text) {
  // The tag must close exactly at the end: not inside the text, nor across its last characters.
  std::string tag = "$q$";
  for (int n = 0; (std::string(text) + tag).find(tag) != text.size(); ++n) {
    tag = "$q" + std::to_string(n) + "$";
  }
  return tag + std::string(text) + tag;
}

std::string raise_statement(const wire::error_info& error, int parameters) {
  std::string sql = "SELECT sys.dsql_local_raise(" + dollar_quote(error.sqlstate) + ", " +
                    dollar_quote(error.message) + ", " + dollar_quote(error.hint) + ")";
  if (parameters <= 0) return sql;
  // A Parse whose Bind will bring `parameters` values: the statement must take them all.
  sql += " FROM (SELECT ";
  for (int i = 1; i <= parameters; ++i) {
    if (i > 1) sql += ", ";
    sql += "$" + std::to_string(i) + "::text";
  }
  return sql + ") AS parameters";
}

int parse_parameter_count(std::string_view sql, std::string_view parse_rest) {
  int declared = 0;
  if (parse_rest.size() >= 2) {
    declared = (static_cast<unsigned char>(parse_rest[0]) << 8) |
               static_cast<unsigned char>(parse_rest[1]);
  }
  int highest = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] != '$') continue;
    int n = 0;
    std::size_t j = i + 1;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9' && n < 100000) {
      n = n * 10 + (sql[j] - '0');
      ++j;
    }
    highest = std::max(highest, n);
  }
  return std::max(declared, highest);
}

bool valid_iam_arn(std::string_view arn) {
  constexpr std::string_view prefix = "arn:aws";
  if (arn.substr(0, prefix.size()) != prefix) return false;
  std::size_t i = prefix.size();
  while (i < arn.size() && arn[i] != ':') {
    if (!(std::islower(static_cast<unsigned char>(arn[i])) || arn[i] == '-')) return false;
    ++i;
  }
  constexpr std::string_view service = ":iam::";
  if (arn.substr(i, service.size()) != service) return false;
  i += service.size();
  for (int d = 0; d < 12; ++d, ++i) {
    if (i >= arn.size() || !std::isdigit(static_cast<unsigned char>(arn[i]))) return false;
  }
  if (i >= arn.size() || arn[i] != ':') return false;
  const std::string_view rest = arn.substr(i + 1);
  for (std::string_view kind : {"role/", "user/"}) {
    if (rest.substr(0, kind.size()) == kind && rest.size() > kind.size()) return true;
  }
  return false;
}

}  // namespace dsql::local
