#include "util/env.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace dsql::util {

std::optional<std::string> get_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string home_directory() {
  if (auto home = get_env("HOME")) return *home;
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  return {};
}

}  // namespace dsql::util
