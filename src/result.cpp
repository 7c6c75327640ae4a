#include "dsql/result.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <stdexcept>

namespace dsql {

result::~result() {
  PQclear(res_);
}

result::result(result&& other) noexcept : res_(other.res_) {
  other.res_ = nullptr;
}

result& result::operator=(result&& other) noexcept {
  if (this != &other) {
    PQclear(res_);
    res_ = other.res_;
    other.res_ = nullptr;
  }
  return *this;
}

std::size_t result::rows() const noexcept {
  return res_ ? static_cast<std::size_t>(PQntuples(res_)) : 0;
}

std::size_t result::columns() const noexcept {
  return res_ ? static_cast<std::size_t>(PQnfields(res_)) : 0;
}

void result::check(std::size_t row, std::size_t column) const {
  if (row >= rows() || column >= columns()) {
    throw std::out_of_range("result cell (" + std::to_string(row) + ", " + std::to_string(column) +
                            ") is outside a result of " + std::to_string(rows()) + " rows and " +
                            std::to_string(columns()) + " columns");
  }
}

bool result::is_null(std::size_t row, std::size_t column) const {
  check(row, column);
  return PQgetisnull(res_, static_cast<int>(row), static_cast<int>(column)) != 0;
}

std::string_view result::value(std::size_t row, std::size_t column) const {
  check(row, column);
  const int r = static_cast<int>(row), c = static_cast<int>(column);
  return std::string_view(PQgetvalue(res_, r, c),
                          static_cast<std::size_t>(PQgetlength(res_, r, c)));
}

std::optional<std::string> result::get(std::size_t row, std::size_t column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(value(row, column));
}

std::size_t result::affected_rows() const noexcept {
  if (res_ == nullptr) return 0;
  const char* n = PQcmdTuples(res_);
  return (n && *n) ? static_cast<std::size_t>(std::strtoull(n, nullptr, 10)) : 0;
}

std::string result::command_tag() const {
  return res_ ? PQcmdStatus(res_) : "";
}

}  // namespace dsql
