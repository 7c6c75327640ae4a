#pragma once

// Reading CSV and TSV files for dsql load, a record at a time, in constant memory.
//
// CSV (RFC 4180): fields separated by commas, optionally in double quotes (a quote inside is
// doubled), quoted fields may hold commas and newlines; lines end with LF or CRLF; a UTF-8 byte
// order mark is skipped. As in PostgreSQL's CSV COPY, an unquoted empty field is NULL and a
// quoted one ("") the empty string.
// TSV: PostgreSQL's text format, which COPY TO and most TSV exporters write: fields separated by
// tabs, one record per line, \N for NULL, and backslash escapes (\t \n \r \\ \b \f \v).
// Empty lines are skipped in both.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsql/errors.hpp"

namespace dsql::cli {

enum class delimited_format { csv, tsv };

// A line the reader cannot read. what() starts with "file:line: ". Immutable once thrown.
class input_error : public error {
 public:
  input_error(const std::string& what, std::string file, std::uint64_t line)
      : error(what), file_(std::move(file)), line_(line) {}
  const std::string& file() const noexcept { return file_; }
  std::uint64_t line() const noexcept { return line_; }

 private:
  std::string file_;
  std::uint64_t line_;
};

// Not thread-safe: one reader per thread.
class delimited_reader {
 public:
  // Opens `path` (a regular file or a pipe). Throws dsql::error when it cannot be read.
  delimited_reader(const std::string& path, delimited_format format);
  // Reads `text` instead of a file (tests), named `name` in errors.
  static delimited_reader from_text(std::string text, std::string name, delimited_format format);
  ~delimited_reader();
  delimited_reader(delimited_reader&& other) noexcept;
  delimited_reader& operator=(delimited_reader&&) = delete;
  delimited_reader(const delimited_reader&) = delete;
  delimited_reader& operator=(const delimited_reader&) = delete;

  // The next record; false at the end. Throws input_error for a malformed one.
  bool next();
  // The record's fields (nullopt is NULL), valid until the next call.
  const std::vector<std::optional<std::string_view>>& fields() const noexcept { return fields_; }
  // The line the record starts on, from 1.
  std::uint64_t line() const noexcept { return record_line_; }
  // Bytes consumed so far, and the file's size (0 when unknown, as for a pipe).
  std::uint64_t bytes_read() const noexcept { return consumed_; }
  std::uint64_t size() const noexcept { return size_; }
  const std::string& name() const noexcept { return name_; }

 private:
  struct in_memory {};
  delimited_reader(std::string name, delimited_format format, in_memory);
  int get();  // the next byte, or -1 at the end
  int peek();
  bool refill();
  [[noreturn]] void fail(std::uint64_t line, const std::string& why) const;
  void end_field(bool null);

  std::string name_;
  delimited_format format_;
  int fd_ = -1;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::uint64_t consumed_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t line_ = 1;
  std::uint64_t record_line_ = 0;
  bool started_ = false;

  struct span {
    std::size_t begin, length;
    bool null;
  };
  std::string scratch_;
  std::size_t field_begin_ = 0;
  std::vector<span> spans_;
  std::vector<std::optional<std::string_view>> fields_;
};

}  // namespace dsql::cli
