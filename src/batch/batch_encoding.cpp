#include "batch/batch_encoding.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "dsql/errors.hpp"
#include "util/printable.hpp"

namespace dsql::detail {

batch_sizer::batch_sizer(const batch_limits& limits, std::size_t columns, write_method method)
    : max_rows_(limits.max_rows), max_bytes_(limits.max_bytes) {
  if (columns == 0) throw config_error("a batch needs at least one column");
  if (limits.max_rows == 0) throw config_error("batch_limits.max_rows must be at least 1");
  if (limits.max_bytes == 0) throw config_error("batch_limits.max_bytes must be at least 1");
  if (method == write_method::insert) {
    if (limits.max_parameters < columns) {
      throw config_error("batch_limits.max_parameters (" + std::to_string(limits.max_parameters) +
                         ") is below the number of columns (" + std::to_string(columns) +
                         "): not even one row fits in an INSERT");
    }
    max_rows_ = std::min(max_rows_, limits.max_parameters / columns);
  }
}

void append_copy_field(std::string& out, const std::optional<std::string_view>& field) {
  if (!field) {
    out += "\\N";
    return;
  }
  const std::string_view v = *field;
  std::size_t start = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const char* escape = c == '\\'   ? "\\\\"
                         : c == '\t' ? "\\t"
                         : c == '\n' ? "\\n"
                         : c == '\r' ? "\\r"
                                     : nullptr;
    if (!escape) continue;
    out.append(v.data() + start, i - start);
    out += escape;
    start = i + 1;
  }
  out.append(v.data() + start, v.size() - start);
}

void append_copy_row(std::string& out, const std::vector<std::optional<std::string_view>>& row) {
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i) out.push_back('\t');
    append_copy_field(out, row[i]);
  }
  out.push_back('\n');
}

std::string insert_statement(const std::string& table, const std::vector<std::string>& columns,
                             std::size_t rows, on_conflict conflict) {
  std::string sql = "INSERT INTO " + table + " (";
  for (std::size_t c = 0; c < columns.size(); ++c) sql += (c ? ", " : "") + columns[c];
  sql += ") VALUES ";
  std::size_t n = 1;
  for (std::size_t r = 0; r < rows; ++r) {
    sql += r ? ", (" : "(";
    for (std::size_t c = 0; c < columns.size(); ++c) {
      sql += (c ? ", $" : "$") + std::to_string(n++);
    }
    sql += ")";
  }
  if (conflict == on_conflict::do_nothing) sql += " ON CONFLICT DO NOTHING";
  return sql;
}

std::optional<std::size_t> copy_error_row(std::string_view context) {
  const auto at = context.find(", line ");
  if (context.rfind("COPY ", 0) != 0 || at == std::string_view::npos) return std::nullopt;
  std::size_t row = 0, i = at + 7;
  bool digits = false;
  for (; i < context.size() && context[i] >= '0' && context[i] <= '9'; ++i) {
    if (row > 100000000) return std::nullopt;
    row = row * 10 + static_cast<std::size_t>(context[i] - '0');
    digits = true;
  }
  if (!digits || row == 0) return std::nullopt;
  return row;
}

std::vector<std::size_t> match_columns(const std::vector<std::string>& requested,
                                       const std::vector<std::string>& table_columns,
                                       const std::string& table) {
  std::vector<std::size_t> out;
  if (requested.empty()) {
    for (std::size_t i = 0; i < table_columns.size(); ++i) out.push_back(i);
    return out;
  }
  const auto listing = [&] {
    std::string all;
    for (const auto& c : table_columns) all += (all.empty() ? "" : ", ") + util::printable(c, 60);
    return util::printable(all, 400);
  };
  for (const std::string& name : requested) {
    std::string wanted;
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      wanted = name.substr(1, name.size() - 2);
    } else {
      wanted = name;
      std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    auto it = std::find(table_columns.begin(), table_columns.end(), wanted);
    // A header's "Name" for a column name: the name as written, if folding found nothing.
    if (it == table_columns.end() && wanted != name) {
      it = std::find(table_columns.begin(), table_columns.end(), name);
    }
    if (it == table_columns.end()) {
      throw config_error("column " + util::quoted(name) + " does not exist in table " +
                         util::printable(table) + " (its columns: " + listing() + ")");
    }
    const auto index = static_cast<std::size_t>(it - table_columns.begin());
    if (std::find(out.begin(), out.end(), index) != out.end()) {
      throw config_error("column " + util::quoted(name) + " is named twice");
    }
    out.push_back(index);
  }
  return out;
}

}  // namespace dsql::detail
