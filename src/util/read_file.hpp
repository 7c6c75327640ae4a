#pragma once

// The one way the library reads a file it was pointed at: the AWS config and credentials files,
// the web identity and container authorization token files, the SSO token cache, migrations. Paths
// come from the environment and from other files, so anything may be there: a FIFO would block
// forever, /dev/zero never ends, and a stray multi-gigabyte file would be read into memory.

#include <cstddef>
#include <optional>
#include <string>

namespace dsql::util {

// Credential files are a few kilobytes; this leaves room for any real one.
inline constexpr std::size_t max_file_bytes = std::size_t{4} << 20;

// The file's contents, or nullopt when it does not exist. Throws dsql::credentials_error
// "<what> <path> cannot be read: <problem>; <fix>" when it is not a regular file once symlinks
// are followed, is larger than max_file_bytes, or cannot be read. `what` names the file's role
// ("AWS config file"), `fix` how to point the library at another file.
std::optional<std::string> read_file(const std::string& path, const std::string& what,
                                     const std::string& fix);

// The same checks for callers with their own limit and error type: `text` is the contents,
// nullopt with an empty `problem` when the file does not exist, and `problem` says why it
// cannot be read otherwise (not a regular file, larger than max_bytes, an I/O error).
struct bounded_read {
  std::optional<std::string> text;
  std::string problem;
};
bounded_read read_bounded_file(const std::string& path, std::size_t max_bytes);

}  // namespace dsql::util
