#include "local/front_statements.hpp"

#include <algorithm>
#include <cctype>

#include <cctype>
#include <optional>

namespace dsql::local {
namespace {

enum class token_type { word, quoted_identifier, string_literal, symbol };

struct token {
  token_type type;
  std::string text;  // words uppercased; quoted identifiers and literals unquoted
  std::size_t begin = 0;
  std::size_t end = 0;
};

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Skips whitespace and comments (block comments nest in PostgreSQL).
std::size_t skip_blank(std::string_view s, std::size_t i) {
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      int depth = 0;
      while (i < s.size()) {
        if (s[i] == '/' && i + 1 < s.size() && s[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (s[i] == '*' && i + 1 < s.size() && s[i + 1] == '/') {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
    } else {
      break;
    }
  }
  return i;
}

// Reads a quoted run starting at s[i] == q; doubled quotes are escapes. Returns the index after the
// closing quote (s.size() when unterminated) and the unquoted text.
std::size_t read_quoted(std::string_view s, std::size_t i, char q, std::string* text) {
  ++i;
  while (i < s.size()) {
    if (s[i] == q) {
      if (i + 1 < s.size() && s[i + 1] == q) {
        if (text) text->push_back(q);
        i += 2;
        continue;
      }
      return i + 1;
    }
    if (text) text->push_back(s[i]);
    ++i;
  }
  return i;
}

// A dollar-quote opener ($tag$) at i, or nullopt.
std::optional<std::string_view> dollar_tag(std::string_view s, std::size_t i) {
  if (s[i] != '$') return std::nullopt;
  std::size_t j = i + 1;
  while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
  if (j < s.size() && s[j] == '$') {
    if (j > i + 1 && std::isdigit(static_cast<unsigned char>(s[i + 1]))) return std::nullopt;
    return s.substr(i, j - i + 1);
  }
  return std::nullopt;
}

std::vector<token> tokenize(std::string_view s, std::size_t limit = 64) {
  std::vector<token> out;
  std::size_t i = 0;
  while (out.size() < limit) {
    i = skip_blank(s, i);
    if (i >= s.size()) break;
    const char c = s[i];
    token t{token_type::symbol, {}, i, i};
    if (c == '\'') {
      t.type = token_type::string_literal;
      i = read_quoted(s, i, '\'', &t.text);
    } else if (c == '"') {
      t.type = token_type::quoted_identifier;
      i = read_quoted(s, i, '"', &t.text);
    } else if (word_char(c)) {
      t.type = token_type::word;
      while (i < s.size() && word_char(s[i])) {
        t.text.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(s[i]))));
        ++i;
      }
    } else {
      t.text = std::string(1, c);
      ++i;
    }
    t.end = i;
    out.push_back(std::move(t));
  }
  return out;
}

bool is_word(const std::vector<token>& t, std::size_t i, std::string_view w) {
  return i < t.size() && t[i].type == token_type::word && t[i].text == w;
}

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
  std::size_t async = 0;
  const char* procedure = nullptr;
  if (is_word(t, 0, "CREATE")) {
    const std::size_t index = is_word(t, 1, "UNIQUE") ? 2 : 1;
    if (is_word(t, index, "INDEX") && is_word(t, index + 1, "ASYNC")) {
      async = index + 1;
      procedure = "sys.dsql_local_create_index_async";
    }
  } else if (is_word(t, 0, "ALTER") && is_word(t, 1, "TABLE") && is_word(t, 2, "ASYNC")) {
    // "ALTER TABLE async ADD ..." alters a table called async.
    static const char* const actions[] = {"ADD",     "DROP",   "ALTER",  "RENAME",  "SET",
                                          "OWNER",   "RESET",  "ENABLE", "DISABLE", "NO",
                                          "INHERIT", "OF",     "NOT",    "CLUSTER", "REPLICA",
                                          "FORCE",   "ATTACH", "DETACH", "VALIDATE"};
    const bool action_follows = t.size() > 3 && t[3].type == token_type::word &&
                                std::any_of(std::begin(actions), std::end(actions),
                                            [&](const char* a) { return t[3].text == a; });
    if (t.size() > 3 && !action_follows) {
      async = 2;
      procedure = "sys.dsql_local_alter_table_async";
    }
  }
  if (!procedure) return std::nullopt;
  std::string statement(sql.substr(0, t[async].begin));
  statement.append(sql.substr(t[async].end));
  return "CALL " + std::string(procedure) + "(" + dollar_quote(statement) + ")";
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
