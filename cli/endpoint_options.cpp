// Checks, options and diagnostics shared by the subcommands that sign tokens (dsql token, psql,
// migrate, load).

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "dsql/config.hpp"
#include "dsql/endpoint.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"

namespace dsql::cli {

void print_warning(const std::string& warning) {
  if (!warning.empty()) std::cerr << "dsql: warning: " << warning << "\n";
}

void check_user_option(const std::string& user) {
  if (user.empty()) {
    throw config_error(
        "--user is empty: give a database role name, or leave --user out for admin (which gets a "
        "DbConnectAdmin token)");
  }
}

void add_endpoint_options(CLI::App* cmd, endpoint_args& a) {
  cmd->add_option("target", a.target,
                  "Endpoint, cluster ID or postgres:// / dsql:// URI (default: $CLUSTER_ENDPOINT)");
  cmd->add_option("--user,-U", a.user, "Database role (default admin)")
      ->each([&a](const std::string&) { a.user_given = true; });
  cmd->add_option("--region", a.region, region_help);
  cmd->add_option("--profile", a.profile, "Shared config profile for credentials");
  cmd->add_option("--database,-d", a.database, "Database (default postgres)");
  cmd->add_option("--port,-p", a.port, "Port (default $PGPORT, else 5432)");
  cmd->add_option("--sslrootcert", a.sslrootcert, "Root certificates (default: system store)");
}

config endpoint_config(const endpoint_args& o, std::string& region_warning) {
  std::string target = o.target;
  if (target.empty()) target = util::get_env("CLUSTER_ENDPOINT").value_or("");
  if (target.empty()) {
    throw config_error("give an endpoint, cluster ID or URI (or set CLUSTER_ENDPOINT)");
  }
  config cfg = config_from_string(target);
  if (o.user_given) {
    check_user_option(o.user);
    cfg.user = o.user;
  }
  if (!o.region.empty()) cfg.region = o.region;
  if (!o.profile.empty()) cfg.profile = o.profile;
  if (!o.database.empty()) cfg.database = o.database;
  if (!o.sslrootcert.empty()) cfg.sslrootcert = o.sslrootcert;
  if (o.port != 0) {
    if (o.port < 1 || o.port > 65535) throw config_error("--port must be between 1 and 65535");
    cfg.port = static_cast<std::uint16_t>(o.port);
  }
  if (o.expires_in_seconds != 0) cfg.token_duration = std::chrono::seconds(o.expires_in_seconds);
  // The connector resolves cfg again, to the same endpoint; this names the region's origin in
  // the warning, which the connector's own would name config.region.
  std::vector<std::string> warnings;
  resolve_endpoint(cfg, &warnings, o.region.empty() ? "the URI's region" : "--region");
  region_warning = warnings.empty() ? std::string() : warnings.front();
  return cfg;
}

void print_credentials_used(const credentials& c, const std::string& host,
                            const std::string& region) {
  const std::string& id = c.access_key_id;
  std::cerr << "dsql: credentials from " << util::printable(c.source) << " (access key ID ending "
            << (id.size() > 4 ? util::printable(id.substr(id.size() - 4)) : std::string("?"))
            << "), signing for " << util::printable(host) << " in " << util::printable(region)
            << "\n";
}

}  // namespace dsql::cli
