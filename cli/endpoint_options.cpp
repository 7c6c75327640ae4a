// Checks and diagnostics shared by the subcommands that sign tokens (dsql token, dsql psql).

#include <iostream>

#include "commands.hpp"
#include "dsql/config.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"

namespace dsql::cli {

void check_region_agrees_with_host(const std::string& host, const std::string& region,
                                   const std::string& given_by) {
  const std::string host_region = region_from_host(host);
  if (host_region.empty()) return;  // the host names no region: the one given is needed
  std::string other = region;
  std::string source = given_by;
  if (other.empty()) {
    other = util::get_env("AWS_REGION").value_or("");
    source = "AWS_REGION";
  }
  if (other.empty() || other == host_region) return;
  throw config_error(source + " " + util::quoted(other) + " contradicts the host " +
                     util::quoted(host) + ", whose region is " + util::quoted(host_region) +
                     ": a DSQL endpoint is always signed for its own region, so " +
                     (source == "AWS_REGION" ? "unset AWS_REGION" : "drop " + source) +
                     " (or set it to " + host_region +
                     "), or give the endpoint of the cluster in " + util::printable(other));
}

void check_user_option(const std::string& user) {
  if (user.empty()) {
    throw config_error(
        "--user is empty: give a database role name, or leave --user out for admin (which gets a "
        "DbConnectAdmin token)");
  }
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
