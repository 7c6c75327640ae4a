#pragma once

// A directory under /tmp for one test's files, removed with everything in it at the end. /tmp,
// whatever TMPDIR says: the postgres user that dsql local runs PostgreSQL as must reach it.
// Not thread-safe to construct or destroy; its paths may be read from any thread.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace dsql::test {

class scratch_dir {
 public:
  scratch_dir() {
    std::string tmpl = "/tmp/dsql-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name, without creating it.
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `text` to path()/name (replacing it) and returns that path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = file(name);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + p);
    return p;
  }
  // A /bin/sh script; run directly by path, never through a shell command line.
  std::string script(const std::string& name, const std::string& body) const {
    const std::string p = write(name, "#!/bin/sh\n" + body);
    ::chmod(p.c_str(), 0755);
    return p;
  }

 private:
  std::string path_;
};

}  // namespace dsql::test
