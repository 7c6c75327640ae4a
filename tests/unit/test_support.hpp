#pragma once

// Small helpers shared by the unit tests.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "util/time_format.hpp"

namespace dsql::test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Fails the test when `text` holds a control character: a forged line or a terminal escape.
inline void expect_no_control_characters(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      ADD_FAILURE() << "control character " << int{c} << " at " << i << " in: " << text;
      return;
    }
  }
}

inline std::string data_path(const std::string& name) {
  return std::string(DSQL_TEST_DATA_DIR) + "/" + name;
}

inline std::chrono::system_clock::time_point at(const std::string& iso) {
  return *util::to_time_point(*util::parse_iso8601(iso));
}

// Sets (or unsets, with nullopt) an environment variable for one scope.
class scoped_env {
 public:
  scoped_env(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~scoped_env() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace dsql::test
