#include "util/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dsql/errors.hpp"
#include "util/printable.hpp"

namespace dsql::util {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

class fd_closer {
 public:
  explicit fd_closer(int fd) : fd_(fd) {}
  ~fd_closer() { ::close(fd_); }
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;

 private:
  int fd_;
};

}  // namespace

std::optional<std::string> read_file(const std::string& path, const std::string& what,
                                     const std::string& fix) {
  auto fail = [&](const std::string& problem) {
    return credentials_error(what + " " + printable(path) + " cannot be read: " + problem + "; " +
                             fix);
  };
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return std::nullopt;
    throw fail(std::strerror(err));
  }
  const fd_closer closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    throw fail(std::string("it is ") + kind_of(st.st_mode) + ", not a regular file");
  }
  const std::string too_large = "it is larger than " + std::to_string(max_file_bytes >> 20) +
                                " MiB, the limit for files "
                                "the connector reads";
  if (static_cast<unsigned long long>(st.st_size) > max_file_bytes) throw fail(too_large);

  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      // A file may grow while it is read, or report size 0 (/proc): the limit holds regardless.
      if (text.size() + static_cast<std::size_t>(n) > max_file_bytes) throw fail(too_large);
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return text;
    } else if (errno != EINTR) {
      throw fail(std::strerror(errno));
    }
  }
}

}  // namespace dsql::util
