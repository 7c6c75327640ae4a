// Checks and diagnostics shared by the subcommands that sign tokens (dsql token, dsql psql).

#include <iostream>

#include "commands.hpp"
#include "dsql/config.hpp"
#include "dsql/errors.hpp"
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

void print_credentials_used(const credentials& c, const std::string& host,
                            const std::string& region) {
  const std::string& id = c.access_key_id;
  std::cerr << "dsql: credentials from " << util::printable(c.source) << " (access key ID ending "
            << (id.size() > 4 ? util::printable(id.substr(id.size() - 4)) : std::string("?"))
            << "), signing for " << util::printable(host) << " in " << util::printable(region)
            << "\n";
}

}  // namespace dsql::cli
