#pragma once

// What a client's StartupMessage may ask for, as DSQL answers it: database postgres only, and
// only the session parameters DSQL lets a client set (the same list as SET; see
// extension/settings_list.h). I/O-free.

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "local/wire_protocol.hpp"

namespace dsql::local {

// The login the front makes to PostgreSQL for an accepted startup packet.
struct backend_login {
  std::string user;
  // Startup parameters for PostgreSQL, "options" included.
  std::vector<std::pair<std::string, std::string>> params;
};

// `session_options` are the front's own settings for every client session (e.g. the switch that
// turns dsql_rules on), in the `options` parameter's -c syntax. A refusal is FATAL for the client.
std::variant<backend_login, wire::error_info> check_startup(const wire::startup_packet& startup,
                                                            const std::string& session_options);

// Whether a client may set this parameter (case-insensitive).
bool settable_parameter(std::string_view name);

}  // namespace dsql::local
