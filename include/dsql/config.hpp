#pragma once

/// @file
/// Where and how to connect: an aggregate with DSQL's defaults, plus URI parsing and resolution.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsql/credentials.hpp"
#include "dsql/endpoint.hpp"
#include "dsql/notice.hpp"
#include "dsql/token.hpp"

namespace dsql {

/// Where and how to connect, with DSQL's defaults. A plain value: copy it freely; share it
/// read-only between threads (its callbacks must then be thread-safe themselves).
struct config {
  /// A full endpoint (\<id\>.dsql.\<region\>.on.aws, PrivateLink names too, or any DNS name) or a
  /// 26-character cluster ID, which needs a region.
  std::string host;
  /// Set: the signing region, even for a host that names another one (as in AWS's other DSQL
  /// connectors; resolve() then adds a warning). Empty: the host's region
  /// (\<id\>.dsql.\<region\>.on.aws), else AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
  std::string region;
  /// The database role: "admin" (signed for DbConnectAdmin) or a role mapped to the principal.
  std::string user = "admin";
  /// The database; DSQL has "postgres".
  std::string database = "postgres";
  /// 0 means PGPORT if set, else 5432.
  std::uint16_t port = 0;
  /// Shared config/credentials profile; empty means AWS_PROFILE, else "default".
  std::string profile;
  /// When set, used instead of the default chain.
  std::shared_ptr<credentials_provider> credentials;
  /// How long each token is valid for, 1 s to max_token_expiry (7 days).
  std::chrono::seconds token_duration = default_token_expiry;

  /// Sign the token for this host instead of `host` (PrivateLink, tunnels, proxies).
  std::string token_host;
  /// Connect to this numeric address instead of resolving `host`; TLS still verifies `host`.
  std::string hostaddr;

  /// Root certificates: a file path, or "system". Empty: PGSSLROOTCERT, else the system store.
  std::string sslrootcert;
  /// Only verify-full is accepted unless dangerously_allow_unverified_tls is set.
  std::string sslmode = "verify-full";
  /// Accept an sslmode that does not verify the server (tests, tunnels); never in production.
  bool dangerously_allow_unverified_tls = false;

  /// 0 means PGCONNECT_TIMEOUT if set, else 10 seconds.
  std::chrono::seconds connect_timeout{0};
  /// Frameworks identify themselves as "<prefix>:aurora-dsql-cpp/<version>".
  std::string application_name_prefix;
  /// Other libpq parameters (options, keepalives, ...), passed through unchanged.
  std::map<std::string, std::string> libpq_params;
  /// Receives the server's notices on every connection opened with this config (pools
  /// included). Empty: notices are dropped; libpq's default would print each on stderr, raw.
  notice_handler on_notice;
  /// Receives each warning about this config (an explicit region that overrides the host's),
  /// every time it is resolved: by dsql::connect, by each connector and for each of a pool's
  /// endpoints. Empty: the warnings are only kept in resolved_config::warnings.
  std::function<void(const std::string&)> on_warning;
};

/// Parses postgres://, postgresql:// or dsql:// URIs. Query parameters region, profile and
/// tokenDurationSecs are ours; sslmode, sslrootcert, connect_timeout, application_name and any
/// other parameter go to libpq. Throws config_error.
config parse_connection_uri(std::string_view uri);

/// `host_or_uri` may be a URI, a full endpoint or a cluster ID.
config config_from_string(std::string_view host_or_uri);

/// A config with every default and fallback applied and checked: the endpoint (resolve_endpoint),
/// the token duration, TLS, the timeout. Throws config_error naming what is wrong and how to fix
/// it. Immutable value once built; safe to share between threads.
struct resolved_config {
  config source;                             ///< the config as given
  endpoint target;                           ///< where to connect and what to sign for
  std::chrono::seconds connect_timeout{10};  ///< at least 1 s
  std::string sslrootcert;                   ///< a path or "system"
  std::string application_name;              ///< what the server sees as application_name
  /// What resolve() found worth telling (also passed to config::on_warning), never a secret.
  std::vector<std::string> warnings;
};
/// Applies every default and fallback to `cfg` and checks it (see resolved_config).
resolved_config resolve(const config& cfg);

/// "aurora-dsql-cpp/<version>", or "<prefix>:aurora-dsql-cpp/<version>".
std::string application_name(std::string_view prefix = {});

}  // namespace dsql
