#pragma once

// A directory under /tmp for one test's files, removed with everything in it at the end.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace dsql::test {

class scratch_dir {
 public:
  scratch_dir() {
    char tmpl[] = "/tmp/dsql-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `text` to path()/name and returns that path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::string path_;
};

}  // namespace dsql::test
