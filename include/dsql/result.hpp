#pragma once

// An owning view of a libpq result.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

typedef struct pg_result PGresult;

namespace dsql {

class result {
 public:
  result() noexcept = default;
  explicit result(PGresult* res) noexcept : res_(res) {}
  ~result();
  result(result&& other) noexcept;
  result& operator=(result&& other) noexcept;
  result(const result&) = delete;
  result& operator=(const result&) = delete;

  PGresult* raw() const noexcept { return res_; }
  std::size_t rows() const noexcept;
  std::size_t columns() const noexcept;
  bool is_null(std::size_t row, std::size_t column) const;
  // The text value of a cell; throws std::out_of_range outside the result.
  std::string_view value(std::size_t row, std::size_t column) const;
  std::optional<std::string> get(std::size_t row, std::size_t column) const;
  // Rows affected by INSERT/UPDATE/DELETE, 0 otherwise.
  std::size_t affected_rows() const noexcept;
  // The command tag, e.g. "INSERT 0 1".
  std::string command_tag() const;

 private:
  void check(std::size_t row, std::size_t column) const;
  PGresult* res_ = nullptr;
};

}  // namespace dsql
