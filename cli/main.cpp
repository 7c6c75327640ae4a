// The `dsql` command.

#include <exception>
#include <iostream>

#include "commands.hpp"
#include "dsql/log.hpp"
#include "dsql/version.hpp"
#include "util/printable.hpp"

namespace {
// The library escapes and truncates each value it quotes; this bounds whole messages too.
constexpr std::size_t max_message_chars = 4000;
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Aurora DSQL connector for C++: tokens, psql with IAM auth, a local endpoint, "
      "migrations and bulk loads",
      "dsql"};
  app.require_subcommand(1);
  // Errors are one line, so that scripts can show them as they are; CLI11 quotes arguments as
  // given, and they pass through the same escaping as the library's messages.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "dsql: " + dsql::util::printable(e.what(), max_message_chars) +
           " (run with --help for usage)\n";
  });
  app.set_version_flag("--version", std::string("dsql ") + dsql::version);
  dsql::cli::global_options globals;
  // --debug is the library's own event log at debug level (what DSQL_LOG=debug gives), plus
  // what the subcommands add; the flag is seen before any subcommand runs.
  app.add_flag_callback(
      "--debug",
      [&globals] {
        globals.debug = true;
        dsql::set_log_handler(
            [](const dsql::log_event& e) { std::cerr << dsql::format_log_line(e) << "\n"; },
            dsql::log_level::debug);
      },
      "Print diagnostics on stderr (credential source, token signing, connects; never secrets)");

  dsql::cli::register_token_command(app, globals);
  dsql::cli::register_psql_command(app, globals);
  dsql::cli::register_local_command(app, globals);
  dsql::cli::register_migrate_command(app, globals);
  dsql::cli::register_load_command(app, globals);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "dsql: " << dsql::util::printable(e.what(), max_message_chars) << "\n";
    return 1;
  }
  return 0;
}
