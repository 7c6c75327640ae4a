#include "dsql/config.hpp"

#include <libpq-fe.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "dsql/errors.hpp"
#include "dsql/version.hpp"
#include "sigv4/sigv4.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"

namespace dsql {
namespace {

constexpr std::chrono::seconds default_connect_timeout{10};

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
    cfg.token_duration = std::chrono::seconds(parse_integer(value, "tokenDurationSecs"));
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

  if (!rest.empty()) {
    const host_port authority = parse_host_port(rest, "in the URI");
    cfg.host = decode(authority.host, "host");
    cfg.port = authority.port;
  }
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

namespace {

void check_login(const config& cfg) {
  if (cfg.user.empty()) throw config_error("empty user: use \"admin\" or a database role name");
  if (cfg.database.empty()) throw config_error("empty database name: DSQL has \"postgres\"");
}

void check_token_duration(std::chrono::seconds duration) {
  if (duration.count() < 1 || duration > max_token_expiry) {
    throw config_error("token duration must be between 1 and 604800 seconds, got " +
                       std::to_string(duration.count()));
  }
}

void check_sslmode(const config& cfg) {
  if (!valid_sslmode(cfg.sslmode)) {
    throw config_error("unknown sslmode " + util::quoted(cfg.sslmode) + "; DSQL needs verify-full");
  }
  if (cfg.sslmode != "verify-full" && !cfg.dangerously_allow_unverified_tls) {
    throw config_error("sslmode=" + cfg.sslmode +
                       " does not verify the server; DSQL connections use verify-full. To accept "
                       "an unverified server anyway, set dangerously_allow_unverified_tls");
  }
}

// config.sslrootcert, else PGSSLROOTCERT, else the system store: "system" where libpq knows it,
// the distribution's bundle where it does not.
std::string root_certificates(const config& cfg) {
  std::string path = cfg.sslrootcert;
  if (path.empty()) path = util::get_env("PGSSLROOTCERT").value_or("");
  if (path.empty() && PQlibVersion() >= 160000) path = "system";
  if (path.empty()) {
    const auto found = std::find_if(system_bundles.begin(), system_bundles.end(), file_exists);
    if (found == system_bundles.end()) {
      throw config_error(
          "no system root certificates found (looked for /etc/ssl/certs/ca-certificates.crt and "
          "the RHEL, Alpine and macOS bundles); install ca-certificates or set sslrootcert");
    }
    path = *found;
  }
  if (path != "system" && !file_exists(path)) {
    throw config_error("root certificate file " + util::quoted(path) +
                       " does not exist or is not a file; fix sslrootcert or PGSSLROOTCERT");
  }
  return path;
}

std::chrono::seconds connect_timeout(const config& cfg) {
  if (cfg.connect_timeout.count() < 0) throw config_error("connect_timeout must not be negative");
  if (cfg.connect_timeout.count() > 0) return cfg.connect_timeout;
  const auto env_timeout = util::get_env("PGCONNECT_TIMEOUT");
  if (!env_timeout) return default_connect_timeout;
  const auto secs = parse_integer(*env_timeout, "PGCONNECT_TIMEOUT");
  if (secs < 0) throw config_error("PGCONNECT_TIMEOUT must not be negative");
  // libpq treats 0 as "wait forever"; we keep a bound so that a dead endpoint never hangs.
  return secs > 0 ? std::chrono::seconds(secs) : default_connect_timeout;
}

void check_libpq_params(const config& cfg) {
  for (const auto& [key, value] : cfg.libpq_params) {
    if (std::find(owned_libpq_keys.begin(), owned_libpq_keys.end(), key) !=
        owned_libpq_keys.end()) {
      throw config_error("set " + util::quoted(key) +
                         " through its config field, not libpq_params");
    }
  }
}

std::string application_name_for(const config& cfg) {
  std::string prefix = cfg.application_name_prefix;
  if (prefix.empty()) prefix = util::get_env("PGAPPNAME").value_or("");
  if (std::any_of(prefix.begin(), prefix.end(), [](unsigned char c) { return c < 0x20; })) {
    throw config_error("application_name prefix must not contain control characters");
  }
  return application_name(prefix);
}

}  // namespace

resolved_config resolve(const config& cfg) {
  resolved_config r;
  r.source = cfg;
  r.target = resolve_endpoint(cfg, &r.warnings);
  check_login(cfg);
  check_token_duration(cfg.token_duration);
  check_sslmode(cfg);
  r.sslrootcert = root_certificates(cfg);
  r.connect_timeout = connect_timeout(cfg);
  check_libpq_params(cfg);
  r.application_name = application_name_for(cfg);
  // Only once everything else is valid: a config that is refused warns about nothing.
  if (cfg.on_warning) {
    for (const auto& w : r.warnings) cfg.on_warning(w);
  }
  return r;
}

}  // namespace dsql
