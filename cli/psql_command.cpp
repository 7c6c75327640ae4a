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
#include "util/env.hpp"
#include "util/printable.hpp"

namespace dsql::cli {
namespace {

struct psql_options {
  std::string target;
  std::string user;
  bool user_given = false;  // --user "" is an error, not "the default"
  std::string region;
  std::string profile;
  std::string database;
  std::string sslrootcert;
  int port = 0;
  std::int64_t expires_in = 0;
  std::vector<std::string> psql_args;
  std::string psql = "psql";
};

// libpq conninfo quoting: single quotes, with \ and ' escaped.
std::string quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

[[noreturn]] void run_psql(const psql_options& o, const global_options& globals) {
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
  // The connector decides the same region from cfg; this names the region's origin for the
  // warning.
  const region_choice region =
      choose_region(cfg.token_host.empty() ? cfg.host : cfg.token_host, cfg.region, cfg.profile,
                    o.region.empty() ? "the URI's region" : "--region");
  if (!o.database.empty()) cfg.database = o.database;
  if (!o.sslrootcert.empty()) cfg.sslrootcert = o.sslrootcert;
  if (o.port != 0) {
    if (o.port < 1 || o.port > 65535) throw config_error("--port must be between 1 and 65535");
    cfg.port = static_cast<std::uint16_t>(o.port);
  }
  if (o.expires_in != 0) cfg.token_duration_seconds = o.expires_in;

  connector conn(cfg);
  std::string conninfo;
  for (const auto& [key, value] : conn.libpq_parameters()) {
    if (!conninfo.empty()) conninfo += ' ';
    conninfo += key + "=" + quote(value);
  }
  if (globals.debug) {
    print_credentials_used(conn.provider()->resolve(), conn.settings().token_host,
                           conn.settings().region);
  }
  const std::string token = conn.token();
  print_warning(region.warning);
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
  cmd->add_option("target", opts->target,
                  "Endpoint, cluster ID or postgres:// / dsql:// URI (default: $CLUSTER_ENDPOINT)");
  cmd->add_option("--user,-U", opts->user, "Database role (default admin)")
      ->each([o = opts.get()](const std::string&) { o->user_given = true; });
  cmd->add_option("--region", opts->region, region_help);
  cmd->add_option("--profile", opts->profile, "Shared config profile for credentials");
  cmd->add_option("--database,-d", opts->database, "Database (default postgres)");
  cmd->add_option("--port,-p", opts->port, "Port (default $PGPORT, else 5432)");
  cmd->add_option("--sslrootcert", opts->sslrootcert, "Root certificates (default: system store)");
  cmd->add_option("--expires-in", opts->expires_in, "Token lifetime in seconds");
  cmd->add_option("--psql", opts->psql, "The psql program to run")->capture_default_str();
  cmd->add_option("psql_args", opts->psql_args, "Arguments for psql, after --");
  cmd->positionals_at_end(false);
  cmd->callback([opts, &globals] { run_psql(*opts, globals); });
}

}  // namespace dsql::cli
