// dsql psql: start psql with a fresh IAM token, verify-full and the right root certificates.
// The token travels in psql's environment (PGPASSWORD), never on its command line, where every
// user of the machine could read it.

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <vector>

#include "commands.hpp"
#include "dsql/connection.hpp"
#include "dsql/errors.hpp"
#include "libpq_support.hpp"
#include "util/env.hpp"
#include "util/printable.hpp"

namespace dsql::cli {
namespace {

struct psql_options {
  endpoint_args endpoint;
  std::vector<std::string> psql_args;
  std::string psql = "psql";
};

[[noreturn]] void run_psql(const psql_options& o, const global_options& globals) {
  std::string region_warning;
  const config cfg = endpoint_config(o.endpoint, region_warning);
  connector conn(cfg);
  const std::string conninfo = detail::conninfo_string(conn.libpq_parameters());
  if (globals.debug) {
    print_credentials_used(conn.provider()->resolve(), conn.settings().target.token_host,
                           conn.settings().target.region);
  }
  const std::string token = conn.token();
  print_warning(region_warning);
  if (globals.debug) {
    std::cerr << "dsql: running " << util::printable(o.psql) << " with "
              << util::printable(conninfo, 2000) << " (token in PGPASSWORD)\n";
  }

  std::vector<std::string> args{o.psql, conninfo};
  args.insert(args.end(), o.psql_args.begin(), o.psql_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (::setenv("PGPASSWORD", token.c_str(), 1) != 0) {
    throw error("could not set PGPASSWORD for psql");
  }
  ::execvp(argv[0], argv.data());
  const int err = errno;
  ::unsetenv("PGPASSWORD");
  if (err == ENOENT) {
    throw error(util::quoted(o.psql) +
                " was not found on PATH; install the PostgreSQL client (apt-get install "
                "postgresql-client) or pass --psql PATH");
  }
  throw error("could not start " + util::quoted(o.psql) + ": " + std::strerror(err));
}

}  // namespace

void register_psql_command(CLI::App& app, const global_options& globals) {
  auto opts = std::make_shared<psql_options>();
  CLI::App* cmd = app.add_subcommand(
      "psql", "Run psql against a DSQL endpoint with a fresh IAM token (psql args after --)");
  add_endpoint_options(cmd, opts->endpoint);
  cmd->add_option("--expires-in", opts->endpoint.expires_in_seconds, "Token lifetime in seconds");
  cmd->add_option("--psql", opts->psql, "The psql program to run")->capture_default_str();
  cmd->add_option("psql_args", opts->psql_args, "Arguments for psql, after --");
  cmd->positionals_at_end(false);
  cmd->callback([opts, &globals] { run_psql(*opts, globals); });
}

}  // namespace dsql::cli
