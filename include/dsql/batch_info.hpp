#pragma once

/// @file
/// One batch of dsql::batch_writer, as its hooks and its error (dsql::batch_error) describe it.

#include <cstddef>
#include <cstdint>
#include <string>

namespace dsql {

/// What a batch holds and, once committed, how it went. Plain value: copy it freely.
struct batch_info {
  std::uint64_t number = 0;     ///< from 0, in the order the rows were appended
  std::uint64_t first_row = 0;  ///< its first row's index among all rows appended
  std::size_t rows = 0;         ///< rows in the batch
  std::size_t bytes = 0;        ///< its rows as COPY text
  std::uint64_t first_tag = 0;  ///< the tag its first row was appended with
  std::uint64_t last_tag = 0;   ///< the tag its last row was appended with
  /// SHA-256 of its rows as COPY text: the same rows, the same digest; empty unless
  /// batch_writer_options::digests is set.
  std::string digest;
  int attempts = 0;              ///< after commit: how many it took
  std::size_t rows_written = 0;  ///< after commit: what the server counted (fewer with do_nothing)
};

}  // namespace dsql
