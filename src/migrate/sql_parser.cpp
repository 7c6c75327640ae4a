// Statements of a migration file, split and parsed by libpg_query (PostgreSQL 15's own scanner and
// grammar, client-side), after taking out the ASYNC keyword that PostgreSQL cannot parse.

#include <pg_query.h>

#include <memory>

#include "migrate/migrate_internal.hpp"
#include "util/printable.hpp"

namespace dsql::detail {
namespace {

struct split_result {
  PgQuerySplitResult r;
  ~split_result() { pg_query_free_split_result(r); }
};

struct parse_result {
  PgQueryParseResult r;
  ~parse_result() { pg_query_free_parse_result(r); }
};

[[noreturn]] void syntax_error(std::string_view text, std::size_t offset, const std::string& file,
                               const std::string& message) {
  const std::size_t line = line_at(text, offset);
  throw migration_error(
      util::printable(file) + ":" + std::to_string(line) +
          ": PostgreSQL's grammar cannot parse this: " + util::printable(message, 300),
      file, line);
}

std::size_t trimmed_end(std::string_view s, std::size_t begin, std::size_t end) {
  while (end > begin && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\n' ||
                         s[end - 1] == '\r' || s[end - 1] == '\f' || s[end - 1] == '\v')) {
    --end;
  }
  return end;
}

}  // namespace

std::size_t line_at(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

std::vector<parsed_statement> parse_statements(std::string_view text, const std::string& file) {
  if (text.find('\0') != std::string_view::npos) {
    syntax_error(text, text.find('\0'), file, "the file contains a NUL byte");
  }
  const std::string input(text);
  // The scanner splits on top-level semicolons (quotes, dollar quotes and comments respected)
  // and, unlike the parser, does not stumble over ASYNC.
  split_result split{pg_query_split_with_scanner(input.c_str())};
  if (split.r.error) {
    syntax_error(text, static_cast<std::size_t>(std::max(split.r.error->cursorpos - 1, 0)), file,
                 split.r.error->message);
  }
  std::vector<parsed_statement> out;
  for (int i = 0; i < split.r.n_stmts; ++i) {
    const auto* s = split.r.stmts[i];
    const std::size_t begin =
        sql_text::skip_blank(text, static_cast<std::size_t>(s->stmt_location));
    const std::size_t end = trimmed_end(
        text, begin,
        static_cast<std::size_t>(s->stmt_location) + static_cast<std::size_t>(s->stmt_len));
    if (begin >= end) continue;
    parsed_statement st;
    st.begin = begin;
    st.end = end;
    st.line = line_at(text, begin);
    st.text = std::string(text.substr(begin, end - begin));
    st.async = sql_text::find_async_keyword(st.text);
    const std::string parsable = sql_text::without_async(st.text, st.async);
    parse_result parsed{pg_query_parse(parsable.c_str())};
    if (parsed.r.error) {
      std::size_t at = static_cast<std::size_t>(std::max(parsed.r.error->cursorpos - 1, 0));
      if (st.async.kind != sql_text::async_kind::none && at >= st.async.begin) {
        at += st.async.end - st.async.begin;
      }
      syntax_error(text, begin + at, file, parsed.r.error->message);
    }
    const auto tree = nlohmann::json::parse(parsed.r.parse_tree);
    const auto& stmts = tree.value("stmts", nlohmann::json::array());
    if (stmts.empty()) continue;  // only comments
    if (stmts.size() != 1) {
      syntax_error(text, begin, file, "expected one statement between semicolons");
    }
    const auto& node = stmts[0].at("stmt");
    st.node = node.begin().key();
    st.tree = node.begin().value();
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace dsql::detail
