// dsql token: print an IAM auth token, as `aws dsql generate-db-connect[-admin]-auth-token` does.

#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "dsql/config.hpp"
#include "dsql/credentials.hpp"
#include "dsql/endpoint.hpp"
#include "dsql/errors.hpp"
#include "dsql/token.hpp"
#include "util/host_name.hpp"
#include "util/printable.hpp"
#include "util/time_format.hpp"

namespace dsql::cli {
namespace {

// A token names no port; any will do, so that a stray PGPORT cannot fail dsql token.
constexpr std::uint16_t default_token_port = 5432;

struct token_options {
  std::string host;
  std::string region;
  std::string user = "admin";
  std::int64_t expires_in_seconds = default_token_expiry.count();
  std::string signing_time;
  std::string profile;
};

void run_token(const token_options& o, const global_options& globals) {
  if (o.host.empty()) throw config_error("--host is empty: give the cluster endpoint");
  // Checked as --host first: its message then names the option, and a port or brackets are
  // refused rather than signed for (a token names a host alone).
  util::check_host_name(o.host, "--host");
  check_user_option(o.user);
  config cfg;
  cfg.host = o.host;
  cfg.region = o.region;
  cfg.profile = o.profile;
  cfg.port = default_token_port;
  std::vector<std::string> warnings;
  const endpoint target = resolve_endpoint(cfg, &warnings, "--region");

  clock_function clock;
  if (!o.signing_time.empty()) {
    const auto seconds = util::parse_iso8601(o.signing_time);
    if (!seconds) {
      throw config_error("--signing-time " + util::quoted(o.signing_time) +
                         " is not a real UTC date and time like 2026-01-15T12:34:56Z");
    }
    const auto t = util::to_time_point(*seconds);
    if (!t) {
      throw config_error("--signing-time " + util::quoted(o.signing_time) +
                         " is outside the times a token can be signed at; give one between "
                         "1970-01-01T00:00:00Z and " +
                         util::far_future_text);
    }
    clock = [t = *t] { return t; };
  }
  auto provider = default_credentials_chain(chain_options{o.profile});
  if (globals.debug) print_credentials_used(provider->resolve(), target.token_host, target.region);
  token_generator generator(provider, clock);
  const std::string token =
      generator.generate(token_request{target.token_host, target.region, action_for_user(o.user),
                                       std::chrono::seconds(o.expires_in_seconds)});
  for (const auto& warning : warnings) print_warning(warning);
  std::cout << token << "\n";
}

}  // namespace

void register_token_command(CLI::App& app, const global_options& globals) {
  auto opts = std::make_shared<token_options>();
  CLI::App* cmd = app.add_subcommand(
      "token", "Print an IAM auth token for a DSQL endpoint (DbConnectAdmin for user admin)");
  cmd->add_option("--host", opts->host, "Cluster endpoint or 26-character cluster ID")->required();
  cmd->add_option("--region", opts->region, region_help);
  cmd->add_option("--user", opts->user, "Database role; admin gets a DbConnectAdmin token")
      ->capture_default_str();
  cmd->add_option("--expires-in", opts->expires_in_seconds, "Token lifetime in seconds, 1..604800")
      ->capture_default_str();
  cmd->add_option("--signing-time", opts->signing_time,
                  "Sign as of this UTC time, YYYY-MM-DDTHH:MM:SSZ (for tests)");
  cmd->add_option("--profile", opts->profile, "Shared config profile (skips the environment)");
  cmd->callback([opts, &globals] { run_token(*opts, globals); });
}

}  // namespace dsql::cli
