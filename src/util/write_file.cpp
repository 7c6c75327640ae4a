#include "util/write_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dsql/errors.hpp"
#include "util/printable.hpp"

namespace dsql::util {

void write_file_atomically(const std::string& path, const std::string& contents,
                           const std::string& what, const std::string& fix) {
  auto fail = [&](const std::string& problem) {
    return credentials_error(what + " " + printable(path) + " cannot be written: " + problem +
                             "; " + fix);
  };
  // Same directory, so that rename() stays on one file system and is atomic.
  std::string temp = path + ".XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);  // 0600, O_EXCL
  if (fd < 0) throw fail(std::strerror(errno));
  temp.assign(name.data());
  const auto abandon = [&](int err) {
    ::close(fd);
    ::unlink(temp.c_str());
    return fail(std::strerror(err));
  };
  // mkostemp already uses 0600; fchmod states it, whatever the C library does.
  if (::fchmod(fd, S_IRUSR | S_IWUSR) != 0) throw abandon(errno);
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw abandon(n < 0 ? errno : EIO);
    written += static_cast<std::size_t>(n);
  }
  // Durable before it becomes visible: after a crash the old file or the whole new one remains.
  if (::fsync(fd) != 0) throw abandon(errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw fail(std::strerror(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw fail(std::strerror(err));
  }
}

}  // namespace dsql::util
