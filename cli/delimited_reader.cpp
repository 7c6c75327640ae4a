#include "delimited_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/printable.hpp"

namespace dsql::cli {
namespace {

constexpr std::size_t chunk_bytes = std::size_t{1} << 20;
// A record this large is an unclosed quote, not data (DSQL takes at most 2 MiB per row).
constexpr std::size_t max_record_bytes = std::size_t{64} << 20;

}  // namespace

delimited_reader::delimited_reader(std::string name, delimited_format format, in_memory)
    : name_(std::move(name)), format_(format) {}

delimited_reader::delimited_reader(const std::string& path, delimited_format format)
    : delimited_reader(path, format, in_memory{}) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw error("cannot read " + util::quoted(path) + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || S_ISDIR(st.st_mode)) {
    const std::string why = S_ISDIR(st.st_mode) ? "it is a directory" : std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw error("cannot read " + util::quoted(path) + ": " + why);
  }
  if (S_ISREG(st.st_mode)) size_ = static_cast<std::uint64_t>(st.st_size);
  buffer_.resize(chunk_bytes);
}

delimited_reader delimited_reader::from_text(std::string text, std::string name,
                                             delimited_format format) {
  delimited_reader r(std::move(name), format, in_memory{});
  r.size_ = text.size();
  r.end_ = text.size();
  r.buffer_ = std::move(text);
  r.eof_ = true;
  return r;
}

delimited_reader::~delimited_reader() {
  if (fd_ >= 0) ::close(fd_);
}

delimited_reader::delimited_reader(delimited_reader&& o) noexcept
    : name_(std::move(o.name_)),
      format_(o.format_),
      fd_(o.fd_),
      buffer_(std::move(o.buffer_)),
      pos_(o.pos_),
      end_(o.end_),
      eof_(o.eof_),
      consumed_(o.consumed_),
      size_(o.size_),
      line_(o.line_),
      record_line_(o.record_line_),
      started_(o.started_) {
  o.fd_ = -1;
}

bool delimited_reader::refill() {
  if (eof_) return false;
  for (;;) {
    const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    if (n > 0) {
      pos_ = 0;
      end_ = static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno != EINTR) {
      throw error("cannot read " + util::quoted(name_) + " after line " + std::to_string(line_) +
                  ": " + std::strerror(errno));
    }
  }
}

int delimited_reader::get() {
  if (pos_ == end_ && !refill()) return -1;
  ++consumed_;
  return static_cast<unsigned char>(buffer_[pos_++]);
}

int delimited_reader::peek() {
  if (pos_ == end_ && !refill()) return -1;
  return static_cast<unsigned char>(buffer_[pos_]);
}

void delimited_reader::fail(std::uint64_t line, const std::string& why) const {
  throw input_error(util::printable(name_) + ":" + std::to_string(line) + ": " + why, name_, line);
}

void delimited_reader::end_field(bool null) {
  spans_.push_back({field_begin_, scratch_.size() - field_begin_, null});
  field_begin_ = scratch_.size();
}

bool delimited_reader::next() {
  spans_.clear();
  fields_.clear();
  scratch_.clear();
  field_begin_ = 0;
  if (!started_) {
    started_ = true;
    // Spreadsheets start UTF-8 CSV with a byte order mark.
    if (peek() == 0xEF && pos_ + 2 < end_ &&
        static_cast<unsigned char>(buffer_[pos_ + 1]) == 0xBB &&
        static_cast<unsigned char>(buffer_[pos_ + 2]) == 0xBF) {
      pos_ += 3;
      consumed_ += 3;
    }
  }
  // Skip empty lines.
  for (;;) {
    const int c = peek();
    if (c == '\n') {
      get();
      ++line_;
    } else if (c == '\r') {
      get();
      if (peek() == '\n') get();
      ++line_;
    } else if (c == -1) {
      return false;
    } else {
      break;
    }
  }
  record_line_ = line_;
  const bool csv = format_ == delimited_format::csv;
  const char delimiter = csv ? ',' : '\t';
  enum { start, unquoted, quoted, after_quote } st = start;
  std::uint64_t quote_line = 0;
  for (;;) {
    if (scratch_.size() > max_record_bytes) {
      fail(record_line_, "a record of over 64 MiB" +
                             std::string(st == quoted ? " (is a quote not closed?)" : ""));
    }
    const int c = get();
    const bool at_end_of_line = c == -1 || c == '\n' || c == '\r';
    if (st == quoted) {
      if (c == -1) {
        fail(quote_line, "field " + std::to_string(spans_.size() + 1) +
                             " opens a quote that is not closed before the end of the file");
      }
      if (c == '"') {
        if (peek() == '"') {
          get();
          scratch_.push_back('"');
        } else {
          st = after_quote;
        }
        continue;
      }
      if (c == '\n') ++line_;
      scratch_.push_back(static_cast<char>(c));
      continue;
    }
    if (c == delimiter || at_end_of_line) {
      // Unquoted and empty is NULL in CSV; TSV's NULL is \N, seen below.
      end_field(csv && st == start);
      if (c == delimiter) {
        st = start;
        continue;
      }
      if (c == '\r' && peek() == '\n') get();
      if (c != -1) ++line_;
      break;
    }
    if (st == after_quote) {
      fail(line_,
           "text after the closing quote of field " + std::to_string(spans_.size() + 1) +
               (quote_line != line_ ? ", whose quote opened on line " + std::to_string(quote_line)
                                    : std::string()) +
               " (a quote inside a quoted field is written \"\")");
    }
    if (csv && c == '"') {
      if (st == unquoted) {
        fail(line_, "a quote inside unquoted field " + std::to_string(spans_.size() + 1) +
                        " (quote the whole field, and double the quotes inside it)");
      }
      st = quoted;
      quote_line = line_;
      continue;
    }
    if (!csv && c == '\\') {
      const int e = get();
      if (e == -1) fail(line_, "a backslash at the end of the file");
      if (e == 'N' && st == start) {
        const int after = peek();
        if (after == '\t' || after == '\n' || after == '\r' || after == -1) {
          // \N alone is NULL: end the field here; the delimiter is read next.
          spans_.push_back({field_begin_, 0, true});
          field_begin_ = scratch_.size();
          const int d = get();
          if (d == '\t') {
            st = start;
            continue;
          }
          if (d == '\r' && peek() == '\n') get();
          if (d != -1) ++line_;
          break;
        }
      }
      static const char from[] = "tnrbfv";
      static const char to[] = "\t\n\r\b\f\v";
      const char* hit = e > 0 ? std::strchr(from, e) : nullptr;
      scratch_.push_back(hit ? to[hit - from] : static_cast<char>(e));
      st = unquoted;
      continue;
    }
    scratch_.push_back(static_cast<char>(c));
    st = unquoted;
  }
  for (const span& s : spans_) {
    if (s.null) {
      fields_.emplace_back(std::nullopt);
    } else {
      fields_.emplace_back(std::string_view(scratch_.data() + s.begin, s.length));
    }
  }
  return true;
}

}  // namespace dsql::cli
