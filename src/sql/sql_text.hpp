#pragma once

// The little SQL lexing that both DSQL's client-side checks (dsql migrate) and the dsql local
// front need, in one place so that the two never disagree: skipping whitespace and comments,
// quoted runs, dollar quotes, leading keywords, and where the ASYNC of DSQL's
// CREATE [UNIQUE] INDEX ASYNC and ALTER TABLE ASYNC stands. PostgreSQL's grammar (and so
// libpg_query) cannot parse ASYNC; both users take it out and keep its position. I/O-free.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsql::sql_text {

enum class token_type { word, quoted_identifier, string_literal, symbol };

struct token {
  token_type type;
  std::string text;  // words uppercased; quoted identifiers and literals unquoted
  std::size_t begin = 0;
  std::size_t end = 0;
};

bool word_char(char c);
// Skips whitespace and comments (block comments nest in PostgreSQL) from i.
std::size_t skip_blank(std::string_view s, std::size_t i);
// Reads a quoted run starting at s[i] == q; doubled quotes are escapes. Returns the index after
// the closing quote (s.size() when unterminated) and, when `text` is given, the unquoted text.
std::size_t read_quoted(std::string_view s, std::size_t i, char q, std::string* text);
// A dollar-quote opener ($tag$) at i, or nullopt.
std::optional<std::string_view> dollar_tag(std::string_view s, std::size_t i);
// The first `limit` tokens.
std::vector<token> tokenize(std::string_view s, std::size_t limit = 64);

inline bool is_word(const std::vector<token>& t, std::size_t i, std::string_view w) {
  return i < t.size() && t[i].type == token_type::word && t[i].text == w;
}

enum class async_kind {
  none,
  create_index,  // CREATE [UNIQUE] INDEX ASYNC ...: an index built by a job
  alter_table,   // ALTER TABLE ASYNC ... (VALIDATE CONSTRAINT): a job too
};

struct async_keyword {
  async_kind kind = async_kind::none;
  std::size_t begin = 0;  // ASYNC's byte range in the statement
  std::size_t end = 0;
};

// Where the statement's ASYNC stands, from its leading tokens. "ALTER TABLE async ADD ..." alters
// a table called async and is not an async statement.
async_keyword find_async_keyword(const std::vector<token>& t);
async_keyword find_async_keyword(std::string_view sql);

// The statement without its ASYNC (as PostgreSQL can parse it); `sql` itself when there is none.
std::string without_async(std::string_view sql, const async_keyword& async);

}  // namespace dsql::sql_text
