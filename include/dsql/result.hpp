#pragma once

/// @file
/// An owning view of a libpq result.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

/// libpq's result handle, declared here so that this header does not include libpq-fe.h.
typedef struct pg_result PGresult;

namespace dsql {

/// One statement's result, owning its PGresult. Move-only. A PGresult is read-only, so const
/// members may be called from several threads at once; moving or destroying needs exclusive use.
class result {
 public:
  /// An empty result: no rows, no columns.
  result() noexcept = default;
  /// Takes ownership of `res` (may be nullptr).
  explicit result(PGresult* res) noexcept : res_(res) {}
  /// Frees the PGresult (PQclear).
  ~result();
  /// Takes the other's PGresult, leaving it empty.
  result(result&& other) noexcept;
  /// Frees this PGresult and takes the other's, leaving it empty.
  result& operator=(result&& other) noexcept;
  result(const result&) = delete;
  result& operator=(const result&) = delete;

  /// libpq's handle, still owned by this object; nullptr when empty.
  PGresult* raw() const noexcept { return res_; }
  /// The number of rows (0 when empty).
  std::size_t rows() const noexcept;
  /// The number of columns (0 when empty).
  std::size_t columns() const noexcept;
  /// Whether a cell is NULL; throws std::out_of_range outside the result.
  bool is_null(std::size_t row, std::size_t column) const;
  /// The text value of a cell; throws std::out_of_range outside the result.
  std::string_view value(std::size_t row, std::size_t column) const;
  /// The text value of a cell, or nullopt for NULL; throws std::out_of_range outside the result.
  std::optional<std::string> get(std::size_t row, std::size_t column) const;
  /// Rows affected by INSERT/UPDATE/DELETE, 0 otherwise.
  std::size_t affected_rows() const noexcept;
  /// The command tag, e.g. "INSERT 0 1".
  std::string command_tag() const;

 private:
  void check(std::size_t row, std::size_t column) const;
  PGresult* res_ = nullptr;
};

}  // namespace dsql
