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
    "Signing region, for hosts that name none (a cluster ID, another DNS name). For a DSQL "
    "endpoint the host's own region wins: a different --region or AWS_REGION is an error";

// Throws config_error when `region` (given by `given_by`, e.g. "--region") or, when that is
// empty, AWS_REGION names another region than the DSQL endpoint `host`: the host's region is the
// one the cluster is in, so the other is a mistake that would otherwise be silently ignored.
void check_region_agrees_with_host(const std::string& host, const std::string& region,
                                   const std::string& given_by);

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
  std::int64_t expires_in = 0;
};
void add_endpoint_options(CLI::App* cmd, endpoint_args& args);
// The config they describe, checked as dsql psql checks it. Throws config_error.
config endpoint_config(const endpoint_args& args);

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
