#pragma once

// Each subcommand lives in its own file and registers itself on the app.

#include <CLI/CLI.hpp>

namespace dsql::cli {

// Set by --debug: subcommands may print diagnostics (never secrets) on stderr.
struct global_options {
  bool debug = false;
};

// Each register function adds its subcommand and sets a callback that runs it. A callback
// reports failure by throwing; main() prints "dsql: <message>" on stderr and exits 1.
void register_token_command(CLI::App& app, const global_options& globals);
void register_psql_command(CLI::App& app, const global_options& globals);
void register_local_command(CLI::App& app, const global_options& globals);

}  // namespace dsql::cli
