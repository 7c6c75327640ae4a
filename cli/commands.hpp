#pragma once

// Each subcommand lives in its own file and registers itself on the app.

#include <CLI/CLI.hpp>
#include <string>

#include "dsql/config.hpp"
#include "dsql/credentials.hpp"

namespace dsql::cli {

// Set by --debug: subcommands may print diagnostics (never secrets) on stderr.
struct global_options {
  bool debug = false;
};

// What the subcommands that sign tokens share (cli/endpoint_options.cpp).

// --region's help: which region wins when the host names one.
inline constexpr const char* region_help =
    "Signing region. Given, it wins even over a DSQL endpoint's own region (with a one-line "
    "warning on stderr when they differ). Not given: the host's region, and only for hosts that "
    "name none (a cluster ID, another DNS name) AWS_REGION, AWS_DEFAULT_REGION, the profile's "
    "region; the variables never override the host's region";

// One "dsql: warning: ..." line on stderr, never stdout. Commands print their warnings (such as
// dsql::choose_region's) only once they have succeeded, so that an error stays the one line.
void print_warning(const std::string& warning);

// Throws config_error for an empty --user: an empty role name can never log in.
void check_user_option(const std::string& user);

// The endpoint argument and options of the subcommands that connect (dsql psql, migrate, load):
// an endpoint, cluster ID or URI (default $CLUSTER_ENDPOINT), and what may override it.
struct endpoint_args {
  std::string target;
  std::string user;
  bool user_given = false;  // --user "" is an error, not "the default"
  std::string region;
  std::string profile;
  std::string database;
  std::string sslrootcert;
  int port = 0;
  std::int64_t expires_in_seconds = 0;  // 0: the config's token duration
};
void add_endpoint_options(CLI::App* cmd, endpoint_args& args);
// The config they describe, checked as dsql psql checks it. Throws config_error. Sets
// region_warning (choose_region's) for the caller to print once the command has succeeded.
config endpoint_config(const endpoint_args& args, std::string& region_warning);

// --debug: the credential source and the last four characters of the access key ID, on stderr.
void print_credentials_used(const credentials& c, const std::string& host,
                            const std::string& region);

// Each register function adds its subcommand and sets a callback that runs it. A callback
// reports failure by throwing; main() prints "dsql: <message>" on stderr and exits 1.
void register_token_command(CLI::App& app, const global_options& globals);
void register_psql_command(CLI::App& app, const global_options& globals);
void register_local_command(CLI::App& app, const global_options& globals);
void register_migrate_command(CLI::App& app, const global_options& globals);
void register_load_command(CLI::App& app, const global_options& globals);

}  // namespace dsql::cli
