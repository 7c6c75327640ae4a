#include "sql/sql_text.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

namespace dsql::sql_text {

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

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

std::vector<token> tokenize(std::string_view s, std::size_t limit) {
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

async_keyword find_async_keyword(const std::vector<token>& t) {
  async_keyword found;
  std::size_t at = 0;
  if (is_word(t, 0, "CREATE")) {
    const std::size_t index = is_word(t, 1, "UNIQUE") ? 2 : 1;
    if (is_word(t, index, "INDEX") && is_word(t, index + 1, "ASYNC")) {
      at = index + 1;
      found.kind = async_kind::create_index;
    }
  } else if (is_word(t, 0, "ALTER") && is_word(t, 1, "TABLE") && is_word(t, 2, "ASYNC")) {
    static const char* const actions[] = {"ADD",     "DROP",   "ALTER",  "RENAME",  "SET",
                                          "OWNER",   "RESET",  "ENABLE", "DISABLE", "NO",
                                          "INHERIT", "OF",     "NOT",    "CLUSTER", "REPLICA",
                                          "FORCE",   "ATTACH", "DETACH", "VALIDATE"};
    const bool action_follows = t.size() > 3 && t[3].type == token_type::word &&
                                std::any_of(std::begin(actions), std::end(actions),
                                            [&](const char* a) { return t[3].text == a; });
    if (t.size() > 3 && !action_follows) {
      at = 2;
      found.kind = async_kind::alter_table;
    }
  }
  if (found.kind != async_kind::none) {
    found.begin = t[at].begin;
    found.end = t[at].end;
  }
  return found;
}

async_keyword find_async_keyword(std::string_view sql) {
  return find_async_keyword(tokenize(sql, 5));
}

std::string without_async(std::string_view sql, const async_keyword& async) {
  if (async.kind == async_kind::none) return std::string(sql);
  std::string out(sql.substr(0, async.begin));
  out.append(sql.substr(async.end));
  return out;
}

}  // namespace dsql::sql_text
