#pragma once

// Strings that held a token, secret key or password are overwritten before their memory is
// freed, so that a core dump or a later allocation does not show them.

#include <string>
#include <utility>

namespace dsql::util {

// Overwrites the characters of `s` (OpenSSL's cleanse, which the compiler cannot optimise away).
void wipe(std::string& s) noexcept;

// A string wiped when it goes, wherever it went. Thread safety: a value; not shared.
struct secret {
  std::string value;
  secret() = default;
  explicit secret(std::string v) noexcept : value(std::move(v)) {}
  secret(secret&& other) noexcept : value(std::move(other.value)) { other.value.clear(); }
  secret& operator=(secret&&) = delete;
  secret(const secret&) = delete;
  secret& operator=(const secret&) = delete;
  ~secret() { wipe(value); }
};

}  // namespace dsql::util
