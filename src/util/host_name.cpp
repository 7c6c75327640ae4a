#include "util/host_name.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "dsql/errors.hpp"
#include "util/printable.hpp"

namespace dsql::util {
namespace {

constexpr const char* example = "<cluster id>.dsql.us-east-1.on.aws";

bool name_char(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_';
}

}  // namespace

bool is_ipv6_address(std::string_view host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, std::string(host).c_str(), &addr) == 1;
}

void check_host_name(std::string_view host, std::string_view label) {
  auto refuse = [&](const std::string& shown, const std::string& problem, const std::string& fix) {
    throw config_error("malformed " + std::string(label) + (shown.empty() ? "" : " " + shown) +
                       ": " + problem + "; " + fix);
  };
  auto fail = [&](const std::string& problem, const std::string& fix) {
    refuse(quoted(host), problem, fix);
  };
  // Built only on failure: this runs for every token signed.
  auto give = [] { return std::string("give a host name such as ") + example; };
  if (host.empty()) fail("it is empty", give());

  // A connection string given where the host belongs may hold a password (libpq's key=value,
  // user:password@, ?password=): quote only the part that cannot hold one.
  if (host.find('=') != std::string_view::npos) {
    refuse("",
           "it has '=', as a libpq connection string (key=value ...) does, which may hold a "
           "password and is not quoted here",
           "give a host name, or a URI such as dsql://HOST/postgres?region=...");
  }
  if (const auto scheme = host.find("://"); scheme != std::string_view::npos) {
    refuse(quoted(host.substr(0, scheme + 3)) + "...", "it starts with a scheme",
           give() + " without the scheme, or pass the whole URI where a URI is accepted");
  }
  if (const auto at = host.rfind('@'); at != std::string_view::npos) {
    const std::string_view after = host.substr(at + 1);
    refuse("'...@" + printable(after.substr(0, after.find_first_of("/?#"))) + "'",
           "it holds a user name (and perhaps a password) before '@'",
           "give the user separately, and no password: DSQL authenticates with IAM tokens");
  }
  if (const auto cut = host.find_first_of("/?#"); cut != std::string_view::npos) {
    refuse("'" + printable(host.substr(0, cut)) + "...'", "it has a path or query after the host",
           "give the host name alone, or a whole URI with its scheme "
           "(dsql://HOST/postgres?region=...)");
  }

  if (host.front() == '-') {
    fail("a host name cannot start with '-' (was an option given where the host belongs?)", give());
  }
  if (host.front() == '[') {
    fail("IPv6 addresses go without brackets here",
         "give the address alone, e.g. ::1 (brackets belong in URIs: dsql://[::1]:5432/)");
  }
  if (host.find(':') != std::string_view::npos && !is_ipv6_address(host)) {
    const auto colon = host.rfind(':');
    const std::string_view after = host.substr(colon + 1);
    const bool port = !after.empty() && std::all_of(after.begin(), after.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
    if (port) {
      fail("it has a port (" + quoted(host.substr(colon)) + ")",
           "give the host alone and the port separately (--port, config.port or the URI's "
           ":PORT)");
    }
    fail("it is neither a host name nor an IPv6 address", give());
  }
  if (host.size() > 253) fail("it is longer than the 253 characters a host name may have", give());
  // A host with ':' got here only as a valid IPv6 address.
  const bool chars_ok =
      host.find(':') != std::string_view::npos || std::all_of(host.begin(), host.end(), [](char c) {
        return name_char(static_cast<unsigned char>(c));
      });
  if (!chars_ok) {
    fail("a host name has only letters, digits, '-', '_' and '.'",
         give() + ", without port, path or spaces");
  }
  if (host.front() == '.' || host.back() == '.' || host.find("..") != std::string_view::npos) {
    fail("it has an empty label ('.' at the start or end, or '..')", give());
  }
}

}  // namespace dsql::util
