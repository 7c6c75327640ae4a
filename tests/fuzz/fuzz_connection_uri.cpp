// libFuzzer target: connection URIs (dsql://, postgres://, postgresql://) and what resolve()
// makes of them must either work or throw dsql::config_error, whose message is one line of
// printable text of bounded length and never repeats a password given in the URI.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "dsql/config.hpp"
#include "dsql/errors.hpp"

namespace {

// The value of a "password=" that starts a parameter (after '?', '&', ';' or a space, as in
// URIs and libpq's key=value strings), up to the next separator; or empty.
std::string_view password_parameter(std::string_view text) {
  constexpr std::string_view key = "password=";
  for (auto at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    if (at != 0 && std::string_view("?&; ").find(text[at - 1]) == std::string_view::npos) continue;
    const std::string_view rest = text.substr(at + key.size());
    return rest.substr(0, rest.find_first_of("&; "));
  }
  return {};
}

// The password in "scheme://user:password@host" (or in "user:password@host" without a scheme,
// which is taken for a host), or empty.
std::string_view userinfo_password(std::string_view text) {
  const auto start = text.find("://");
  std::string_view authority = start == std::string_view::npos ? text : text.substr(start + 3);
  authority = authority.substr(0, authority.find_first_of("/?"));
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return {};
  const std::string_view userinfo = authority.substr(0, at);
  const auto colon = userinfo.find(':');
  return colon == std::string_view::npos ? std::string_view() : userinfo.substr(colon + 1);
}

// The config_error message for `text`, or nullopt when it parses and resolves.
std::optional<std::string> error_of(std::string_view text) {
  try {
    const dsql::resolved_config r = dsql::resolve(dsql::config_from_string(text));
    if (r.target.host.empty() || r.target.region.empty() || r.target.port == 0) __builtin_trap();
    return std::nullopt;
  } catch (const dsql::config_error& e) {
    return std::string(e.what());
  }
}

void check_message(const std::string& what, std::string_view input) {
  if (what.empty() || what.size() > 2000) __builtin_trap();
  for (const char ch : what) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) __builtin_trap();
  }
  for (const std::string_view secret : {password_parameter(input), userinfo_password(input)}) {
    if (secret.size() < 8 || what.find(secret) == std::string::npos) continue;
    // A "password" that our own words contain ("has a password") is no leak: with the password
    // replaced, the message must lose it.
    std::string neutral(input);
    neutral.replace(static_cast<std::size_t>(secret.data() - input.data()), secret.size(),
                    secret.size(), '\x01');
    const auto other = error_of(neutral);
    if (!other || other->find(secret) == std::string::npos) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // resolve() falls back to the environment and the AWS files: keep both out of the way.
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "PGPORT",
                           "PGSSLROOTCERT", "PGCONNECT_TIMEOUT", "PGAPPNAME"}) {
    unsetenv(name);
  }
  setenv("AWS_CONFIG_FILE", "/nonexistent/dsql-fuzz/config", 1);
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/dsql-fuzz/credentials", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto what = error_of(text)) check_message(*what, text);
  return 0;
}
