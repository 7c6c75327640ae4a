#include "dsql/config.hpp"

#include <libpq-fe.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "credentials/shared_config.hpp"
#include "dsql/errors.hpp"
#include "dsql/version.hpp"
#include "sigv4/sigv4.hpp"
#include "util/env.hpp"
#include "util/host_name.hpp"
#include "util/printable.hpp"

namespace dsql {
namespace {

constexpr std::chrono::seconds default_connect_timeout{10};
constexpr std::uint16_t default_port = 5432;

// Parameters we own; passing them through libpq_params would bypass our checks.
constexpr std::array<std::string_view, 9> owned_libpq_keys = {
    "host", "hostaddr", "port", "user", "dbname", "password", "sslmode", "sslrootcert", "passfile"};

// Where distributions keep the system CA bundle (for libpq < 16, which lacks sslrootcert=system).
constexpr std::array<const char*, 6> system_bundles = {
    "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",                   // RHEL, Fedora, Amazon Linux
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7+
    "/etc/ssl/cert.pem",                                  // macOS, Alpine, OpenBSD
    "/etc/ssl/ca-bundle.pem",                             // openSUSE
    "/usr/local/etc/openssl/cert.pem",                    // Homebrew
};

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::int64_t parse_integer(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw config_error(std::string(what) + " must be a whole number, got " + util::quoted(text));
  }
  return value;
}

std::uint16_t parse_port(std::string_view text, std::string_view where) {
  std::int64_t value = 0;
  try {
    value = parse_integer(text, std::string("the port ") + std::string(where));
  } catch (const config_error&) {
    throw config_error("invalid port " + util::quoted(text) + " " + std::string(where) +
                       ": give a number between 1 and 65535");
  }
  if (value < 1 || value > 65535) {
    throw config_error("invalid port " + std::to_string(value) + " " + std::string(where) +
                       ": give a number between 1 and 65535");
  }
  return static_cast<std::uint16_t>(value);
}

bool valid_sslmode(std::string_view mode) {
  return mode == "disable" || mode == "allow" || mode == "prefer" || mode == "require" ||
         mode == "verify-ca" || mode == "verify-full";
}

std::string decode(std::string_view s, std::string_view what) {
  auto decoded = sigv4::uri_decode(s);
  if (!decoded) {
    throw config_error("malformed percent-escape in the URI's " + std::string(what));
  }
  return *decoded;
}

void apply_uri_parameter(config& cfg, const std::string& key, const std::string& value) {
  if (key == "region") {
    cfg.region = value;
  } else if (key == "profile") {
    cfg.profile = value;
  } else if (key == "tokenDurationSecs" || key == "token_duration_secs") {
    cfg.token_duration_seconds = parse_integer(value, "tokenDurationSecs");
  } else if (key == "sslmode") {
    if (!valid_sslmode(value)) {
      throw config_error("unknown sslmode " + util::quoted(value) +
                         " in the URI; DSQL needs sslmode=verify-full (the default)");
    }
    cfg.sslmode = value;
  } else if (key == "sslrootcert") {
    cfg.sslrootcert = value;
  } else if (key == "connect_timeout") {
    cfg.connect_timeout = std::chrono::seconds(parse_integer(value, "connect_timeout"));
  } else if (key == "application_name") {
    cfg.application_name_prefix = value;
  } else if (key == "user") {
    cfg.user = value;
  } else if (key == "dbname") {
    cfg.database = value;
  } else if (key == "port") {
    cfg.port = parse_port(value, "in the URI");
  } else if (key == "hostaddr") {
    cfg.hostaddr = value;
  } else if (key == "tokenHost" || key == "token_host") {
    cfg.token_host = value;
  } else if (key == "password") {
    throw config_error("the URI has a password; DSQL authenticates with IAM tokens, remove it");
  } else if (key == "host") {
    throw config_error("give the host in the URI's authority (dsql://HOST/...), not as ?host=");
  } else {
    cfg.libpq_params[key] = value;
  }
}

}  // namespace

bool is_cluster_id(std::string_view host) noexcept {
  return host.size() == 26 && std::all_of(host.begin(), host.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
         });
}

std::string region_from_host(std::string_view host) {
  // Matches \.dsql[^.]*\.([^.]+)\.on\.aws$, ignoring case, by hand: compiling that
  // std::regex took 0.86 M instructions, a fifth of what the connector adds to a cold process
  // (BENCHMARKS.md, "Cold start"). The service label may carry a suffix, as PrivateLink's
  // dsql-fnh4 does.
  auto iequals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && lower(a) == b;
  };
  constexpr std::string_view suffix = ".on.aws";
  if (host.size() < suffix.size() || !iequals(host.substr(host.size() - suffix.size()), suffix)) {
    return {};
  }
  std::string_view rest = host.substr(0, host.size() - suffix.size());  // ....dsql.REGION
  const auto region_dot = rest.rfind('.');
  if (region_dot == std::string_view::npos || region_dot + 1 == rest.size()) return {};
  const std::string_view region = rest.substr(region_dot + 1);
  rest = rest.substr(0, region_dot);  // ....dsql
  const auto service_dot = rest.rfind('.');
  if (service_dot == std::string_view::npos) return {};
  const std::string_view service = rest.substr(service_dot + 1);
  if (service.size() < 4 || !iequals(service.substr(0, 4), "dsql")) return {};
  return lower(region);
}

region_choice choose_region(std::string_view host, std::string_view explicit_region,
                            const std::string& profile, std::string_view explicit_label) {
  region_choice choice;
  const std::string host_region = region_from_host(host);
  if (!explicit_region.empty()) {
    // Explicit wins, as in AWS's other DSQL connectors; a contradiction is worth a warning
    // because a DSQL endpoint refuses tokens signed for any region but its own.
    choice.region = std::string(explicit_region);
    if (!host_region.empty() && host_region != choice.region) {
      choice.warning = std::string(explicit_label) + " " + util::quoted(choice.region) +
                       " wins over the region of host " + util::quoted(host) + " (" +
                       util::quoted(host_region) + "): tokens are signed for " +
                       util::printable(choice.region) +
                       ", which that endpoint refuses if the cluster is in " +
                       util::printable(host_region) + "; leave the region out to use the host's";
    }
    return choice;
  }
  // The variables describe the shell, not this host: they never override the host's region.
  choice.region = host_region;
  if (choice.region.empty()) choice.region = util::get_env("AWS_REGION").value_or("");
  if (choice.region.empty()) choice.region = util::get_env("AWS_DEFAULT_REGION").value_or("");
  if (choice.region.empty()) choice.region = aws_config::profile_region(profile).value_or("");
  return choice;
}

std::string find_region(std::string_view host, std::string_view explicit_region,
                        const std::string& profile) {
  return choose_region(host, explicit_region, profile).region;
}

std::string application_name(std::string_view prefix) {
  std::string name = std::string("aurora-dsql-cpp/") + version;
  if (prefix.empty()) return name;
  return std::string(prefix) + ":" + name;
}

config parse_connection_uri(std::string_view uri) {
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) {
    throw config_error("not a connection URI: expected postgres://, postgresql:// or dsql://");
  }
  const std::string scheme = lower(uri.substr(0, scheme_end));
  if (scheme != "postgres" && scheme != "postgresql" && scheme != "dsql") {
    // Only a scheme is quoted: text before "://" that is none may be anything, a password too.
    const bool is_scheme = !scheme.empty() && scheme.size() <= 32 &&
                           std::isalpha(static_cast<unsigned char>(scheme[0])) &&
                           std::all_of(scheme.begin(), scheme.end(), [](unsigned char c) {
                             return std::isalnum(c) || c == '+' || c == '-' || c == '.';
                           });
    throw config_error(
        (is_scheme ? "unsupported URI scheme " + util::quoted(scheme + "://")
                   : std::string("unsupported URI scheme (the text before '://' is not one)")) +
        ": use postgres://, postgresql:// or dsql://");
  }
  std::string_view rest = uri.substr(scheme_end + 3);
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }

  config cfg;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (userinfo.find(':') != std::string_view::npos) {
      throw config_error("the URI has a password; DSQL authenticates with IAM tokens, remove it");
    }
    if (!userinfo.empty()) cfg.user = decode(userinfo, "user");
  }
  if (rest.find(',') != std::string_view::npos) {
    throw config_error("multi-host URIs are not supported; give one DSQL endpoint");
  }

  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw config_error("unterminated [ in the URI's host");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw config_error("unexpected text after ] in the URI's host");
      port = after.substr(1);
      if (port.empty()) throw config_error("the URI has ':' but no port after the host");
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) throw config_error("the URI has ':' but no port after the host");
  }
  cfg.host = decode(host, "host");
  if (!port.empty()) cfg.port = parse_port(port, "in the URI");
  if (!path.empty()) cfg.database = decode(path, "database");

  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      throw config_error("URI parameter " + util::quoted(pair) + " has no value (use key=value)");
    }
    apply_uri_parameter(cfg, decode(pair.substr(0, eq), "parameter name"),
                        decode(pair.substr(eq + 1), "parameter value"));
  }
  return cfg;
}

config config_from_string(std::string_view host_or_uri) {
  if (host_or_uri.find("://") != std::string_view::npos) return parse_connection_uri(host_or_uri);
  config cfg;
  cfg.host = std::string(host_or_uri);
  return cfg;
}

resolved_config resolve(const config& cfg) {
  resolved_config r;
  r.source = cfg;

  if (cfg.host.empty()) {
    throw config_error(
        "no host: give the cluster endpoint (<cluster id>.dsql.<region>.on.aws) or a 26-character "
        "cluster ID with a region");
  }
  util::check_host_name(cfg.host);
  if (!cfg.token_host.empty()) util::check_host_name(cfg.token_host, "token_host");

  region_choice region =
      choose_region(cfg.token_host.empty() ? cfg.host : cfg.token_host, cfg.region, cfg.profile);
  r.region = std::move(region.region);
  if (!region.warning.empty()) r.warnings.push_back(std::move(region.warning));
  if (r.region.empty()) {
    throw config_error("no region for host " + util::quoted(cfg.host) +
                       ": use a DSQL endpoint (<id>.dsql.<region>.on.aws), set the region "
                       "(config.region or ?region=), or set AWS_REGION");
  }
  const bool region_ok = std::all_of(r.region.begin(), r.region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
  if (!region_ok)
    throw config_error("invalid region " + util::quoted(r.region) + " (e.g. us-east-1)");

  // Only exact 26-character IDs expand; db.example.com stays a DNS name.
  r.endpoint = is_cluster_id(cfg.host) ? cfg.host + ".dsql." + r.region + ".on.aws" : cfg.host;
  r.token_host = cfg.token_host.empty() ? r.endpoint : cfg.token_host;

  if (cfg.user.empty()) throw config_error("empty user: use \"admin\" or a database role name");
  if (cfg.database.empty()) throw config_error("empty database name: DSQL has \"postgres\"");

  if (cfg.port != 0) {
    r.port = cfg.port;
  } else if (auto env_port = util::get_env("PGPORT")) {
    r.port = parse_port(*env_port, "in PGPORT");
  } else {
    r.port = default_port;
  }

  if (cfg.token_duration_seconds < 1 || cfg.token_duration_seconds > max_token_expiry_seconds) {
    throw config_error("token duration must be between 1 and 604800 seconds, got " +
                       std::to_string(cfg.token_duration_seconds));
  }

  if (!valid_sslmode(cfg.sslmode)) {
    throw config_error("unknown sslmode '" + cfg.sslmode + "'; DSQL needs verify-full");
  }
  if (cfg.sslmode != "verify-full" && !cfg.dangerously_allow_unverified_tls) {
    throw config_error("sslmode=" + cfg.sslmode +
                       " does not verify the server; DSQL connections use verify-full. To accept "
                       "an unverified server anyway, set dangerously_allow_unverified_tls");
  }

  if (!cfg.sslrootcert.empty()) {
    r.sslrootcert = cfg.sslrootcert;
  } else if (auto env_cert = util::get_env("PGSSLROOTCERT")) {
    r.sslrootcert = *env_cert;
  } else if (PQlibVersion() >= 160000) {
    r.sslrootcert = "system";
  } else {
    for (const char* path : system_bundles) {
      if (file_exists(path)) {
        r.sslrootcert = path;
        break;
      }
    }
    if (r.sslrootcert.empty()) {
      throw config_error(
          "no system root certificates found (looked for /etc/ssl/certs/ca-certificates.crt and "
          "the RHEL, Alpine and macOS bundles); install ca-certificates or set sslrootcert");
    }
  }
  if (r.sslrootcert != "system" && !file_exists(r.sslrootcert)) {
    throw config_error("root certificate file " + util::quoted(r.sslrootcert) +
                       " does not exist or is not a file; fix sslrootcert or PGSSLROOTCERT");
  }

  if (cfg.connect_timeout.count() < 0) {
    throw config_error("connect_timeout must not be negative");
  } else if (cfg.connect_timeout.count() > 0) {
    r.connect_timeout = cfg.connect_timeout;
  } else if (auto env_timeout = util::get_env("PGCONNECT_TIMEOUT")) {
    const auto secs = parse_integer(*env_timeout, "PGCONNECT_TIMEOUT");
    if (secs < 0) throw config_error("PGCONNECT_TIMEOUT must not be negative");
    // libpq treats 0 as "wait forever"; we keep a bound so that a dead endpoint never hangs.
    r.connect_timeout = secs > 0 ? std::chrono::seconds(secs) : default_connect_timeout;
  } else {
    r.connect_timeout = default_connect_timeout;
  }

  for (const auto& [key, value] : cfg.libpq_params) {
    if (std::find(owned_libpq_keys.begin(), owned_libpq_keys.end(), key) !=
        owned_libpq_keys.end()) {
      throw config_error("set " + util::quoted(key) +
                         " through its config field, not libpq_params");
    }
  }

  std::string prefix = cfg.application_name_prefix;
  if (prefix.empty()) prefix = util::get_env("PGAPPNAME").value_or("");
  if (std::any_of(prefix.begin(), prefix.end(), [](unsigned char c) { return c < 0x20; })) {
    throw config_error("application_name prefix must not contain control characters");
  }
  r.application_name = application_name(prefix);
  // Only once everything else is valid: a config that is refused warns about nothing.
  if (cfg.on_warning) {
    for (const auto& w : r.warnings) cfg.on_warning(w);
  }
  return r;
}

}  // namespace dsql
