#pragma once

// The I/O-free half of dsql::batch_writer: where batches are cut (rows, bytes, parameters), rows
// as COPY text, the INSERT statement of a batch, and reading the row COPY failed on.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsql/batch_writer.hpp"

namespace dsql::detail {

class batch_sizer {
 public:
  // Throws config_error for limits that cannot work (no rows, no bytes, more columns than
  // parameters, 0 columns).
  batch_sizer(const batch_limits& limits, std::size_t columns, write_method method);

  // Rows per batch: max_rows, and for INSERT what max_parameters allows.
  std::size_t max_rows() const noexcept { return max_rows_; }
  // Whether a batch of `rows` rows and `bytes` bytes is full for a next row of `row_bytes`: a
  // row never joins a batch it would take past a limit, and an empty batch takes any row.
  bool full_for(std::size_t rows, std::size_t bytes, std::size_t row_bytes) const noexcept {
    return rows > 0 && (rows >= max_rows_ || bytes + row_bytes > max_bytes_);
  }

 private:
  std::size_t max_rows_;
  std::size_t max_bytes_;
};

// Appends a field in COPY's text format: \N for NULL; backslash, tab, newline and carriage
// return escaped.
void append_copy_field(std::string& out, const std::optional<std::string_view>& field);
// A row: fields separated by tabs, ended by a newline.
void append_copy_row(std::string& out, const std::vector<std::optional<std::string_view>>& row);

// INSERT INTO table (columns) VALUES ($1, ...), ... for `rows` rows.
std::string insert_statement(const std::string& table, const std::vector<std::string>& columns,
                             std::size_t rows, on_conflict conflict);

// The row a COPY error names, from its CONTEXT ("COPY t, line 17, column a: ..."): 1-based.
std::optional<std::size_t> copy_error_row(std::string_view context);

// The table's columns that `requested` names (all of them when it is empty), by their index in
// `table_columns`. Unquoted names fold to lower case (or, when that matches nothing, match as
// written); "quoted" ones match exactly. Throws
// config_error naming the missing column and the table's columns, or a column named twice.
std::vector<std::size_t> match_columns(const std::vector<std::string>& requested,
                                       const std::vector<std::string>& table_columns,
                                       const std::string& table);

}  // namespace dsql::detail
