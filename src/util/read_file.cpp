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

bounded_read read_bounded_file(const std::string& path, std::size_t max_bytes) {
  bounded_read r;
  auto fail = [&](std::string problem) {
    r.problem = std::move(problem);
    return r;
  };
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return r;
    return fail(std::strerror(err));
  }
  const fd_closer closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    return fail(std::string("it is ") + kind_of(st.st_mode) + ", not a regular file");
  }
  const std::string too_large =
      "it is larger than " + std::to_string(max_bytes >> 20) + " MiB, the limit for such files";
  if (static_cast<unsigned long long>(st.st_size) > max_bytes) return fail(too_large);

  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      // A file may grow while it is read, or report size 0 (/proc): the limit holds regardless.
      if (text.size() + static_cast<std::size_t>(n) > max_bytes) return fail(too_large);
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      r.text = std::move(text);
      return r;
    } else if (errno != EINTR) {
      return fail(std::strerror(errno));
    }
  }
}

std::optional<std::string> read_file(const std::string& path, const std::string& what,
                                     const std::string& fix) {
  bounded_read r = read_bounded_file(path, max_file_bytes);
  if (!r.problem.empty()) {
    throw credentials_error(what + " " + printable(path) + " cannot be read: " + r.problem + "; " +
                            fix);
  }
  return std::move(r.text);
}

}  // namespace dsql::util
