#include "dsql/endpoint.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "credentials/shared_config.hpp"
#include "dsql/config.hpp"
#include "dsql/errors.hpp"
#include "util/env.hpp"
#include "util/host_name.hpp"
#include "util/printable.hpp"

namespace dsql {
namespace {

constexpr std::uint16_t default_port = 5432;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

[[noreturn]] void refuse_host_port(std::string_view text, std::string_view where,
                                   const std::string& problem, std::string_view fix) {
  throw config_error("malformed endpoint " + util::quoted(text) + " " + std::string(where) + ": " +
                     problem + "; " + std::string(fix));
}

constexpr std::string_view bracket_fix = "write an IPv6 address as [::1] or [::1]:5432";

// The port after "host:" or "[v6]:", which must be there once the ':' is.
std::uint16_t port_after_colon(std::string_view text, std::string_view port,
                               std::string_view where) {
  if (port.empty()) {
    refuse_host_port(text, where, "it has ':' but no port after it",
                     "add the port (1 to 65535) or remove the ':'");
  }
  try {
    return parse_port(port, where);
  } catch (const config_error&) {
    // Named with the whole text: in a list of endpoints the port alone does not say which.
    refuse_host_port(text, where, "invalid port " + util::quoted(port),
                     "give a number between 1 and 65535");
  }
}

std::uint16_t port_for(const config& cfg) {
  if (cfg.port != 0) return cfg.port;
  if (auto env_port = util::get_env("PGPORT")) return parse_port(*env_port, "in PGPORT");
  return default_port;
}

}  // namespace

std::uint16_t parse_port(std::string_view text, std::string_view where) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw config_error("invalid port " + util::quoted(text) + " " + std::string(where) +
                       ": give a number between 1 and 65535");
  }
  if (value < 1 || value > 65535) {
    throw config_error("invalid port " + std::to_string(value) + " " + std::string(where) +
                       ": give a number between 1 and 65535");
  }
  return static_cast<std::uint16_t>(value);
}

host_port parse_host_port(std::string_view text, std::string_view where) {
  if (text.empty()) {
    refuse_host_port(text, where, "it is empty", "give host, host:port or [IPv6]:port");
  }
  host_port out;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      refuse_host_port(text, where, "unterminated '[' (no closing ']')", bracket_fix);
    }
    out.host = std::string(text.substr(1, close - 1));
    const std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') refuse_host_port(text, where, "text after ']'", bracket_fix);
      out.port = port_after_colon(text, after.substr(1), where);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    out.host = std::string(text.substr(0, colon));
    out.port = port_after_colon(text, text.substr(colon + 1), where);
  } else if (text.find(':') == std::string_view::npos || util::is_ipv6_address(text)) {
    out.host = std::string(text);  // without brackets an IPv6 address cannot carry a port
  } else {
    refuse_host_port(text, where, "it has more than one ':' but is no IPv6 address",
                     "give host:port, or write an IPv6 address with a port as [::1]:5432");
  }
  if (out.host.empty()) {
    refuse_host_port(text, where, "it has no host",
                     "give the host first, as in <cluster id>.dsql.us-east-1.on.aws:5432");
  }
  return out;
}

bool is_cluster_id(std::string_view host) noexcept {
  return host.size() == 26 && std::all_of(host.begin(), host.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
         });
}

bool is_region_name(std::string_view region) noexcept {
  if (region.empty() || region.size() > 64 || region.front() == '-' || region.back() == '-') {
    return false;
  }
  return std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string cluster_endpoint(std::string_view cluster_id, std::string_view region) {
  return std::string(cluster_id) + ".dsql." + std::string(region) + ".on.aws";
}

std::string region_from_host(std::string_view host) {
  // Matches \.dsql[^.]*\.([^.]+)\.on\.aws$, ignoring case, by hand: compiling that
  // std::regex took 0.86 M instructions, a fifth of what the connector adds to a cold process
  // (BENCHMARKS.md, "Cold start"). The service label may carry a suffix, as PrivateLink's
  // dsql-fnh4 does.
  auto iequals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && lower(a) == b;
  };
  constexpr std::string_view suffix = ".on.aws";
  if (host.size() < suffix.size() || !iequals(host.substr(host.size() - suffix.size()), suffix)) {
    return {};
  }
  std::string_view rest = host.substr(0, host.size() - suffix.size());  // ....dsql.REGION
  const auto region_dot = rest.rfind('.');
  if (region_dot == std::string_view::npos || region_dot + 1 == rest.size()) return {};
  const std::string_view region = rest.substr(region_dot + 1);
  rest = rest.substr(0, region_dot);  // ....dsql
  const auto service_dot = rest.rfind('.');
  if (service_dot == std::string_view::npos) return {};
  const std::string_view service = rest.substr(service_dot + 1);
  if (service.size() < 4 || !iequals(service.substr(0, 4), "dsql")) return {};
  return lower(region);
}

region_choice choose_region(std::string_view host, std::string_view explicit_region,
                            const std::string& profile, std::string_view explicit_label) {
  region_choice choice;
  const std::string host_region = region_from_host(host);
  if (!explicit_region.empty()) {
    // Explicit wins, as in AWS's other DSQL connectors; a contradiction is worth a warning
    // because a DSQL endpoint refuses tokens signed for any region but its own.
    choice.region = std::string(explicit_region);
    if (!host_region.empty() && host_region != choice.region) {
      choice.warning = std::string(explicit_label) + " " + util::quoted(choice.region) +
                       " wins over the region of host " + util::quoted(host) + " (" +
                       util::quoted(host_region) + "): tokens are signed for " +
                       util::printable(choice.region) +
                       ", which that endpoint refuses if the cluster is in " +
                       util::printable(host_region) + "; leave the region out to use the host's";
    }
    return choice;
  }
  // The variables describe the shell, not this host: they never override the host's region.
  choice.region = host_region;
  if (choice.region.empty()) choice.region = util::get_env("AWS_REGION").value_or("");
  if (choice.region.empty()) choice.region = util::get_env("AWS_DEFAULT_REGION").value_or("");
  if (choice.region.empty()) choice.region = aws_config::profile_region(profile).value_or("");
  return choice;
}

std::string find_region(std::string_view host, std::string_view explicit_region,
                        const std::string& profile) {
  return choose_region(host, explicit_region, profile).region;
}

endpoint resolve_endpoint(const config& cfg, std::vector<std::string>* warnings,
                          std::string_view region_label) {
  if (cfg.host.empty()) {
    throw config_error(
        "no host: give the cluster endpoint (<cluster id>.dsql.<region>.on.aws) or a 26-character "
        "cluster ID with a region");
  }
  util::check_host_name(cfg.host);
  if (!cfg.token_host.empty()) util::check_host_name(cfg.token_host, "token_host");

  endpoint ep;
  region_choice region = choose_region(cfg.token_host.empty() ? cfg.host : cfg.token_host,
                                       cfg.region, cfg.profile, region_label);
  ep.region = std::move(region.region);
  if (ep.region.empty()) {
    throw config_error("no region for host " + util::quoted(cfg.host) +
                       ": use a DSQL endpoint (<id>.dsql.<region>.on.aws), set the region (" +
                       std::string(region_label) + ", ?region= in a URI), or set AWS_REGION");
  }
  if (!is_region_name(ep.region)) {
    throw config_error("invalid region " + util::quoted(ep.region) + " (e.g. us-east-1)");
  }
  // Only exact 26-character IDs expand; db.example.com stays a DNS name.
  ep.host = is_cluster_id(cfg.host) ? cluster_endpoint(cfg.host, ep.region) : cfg.host;
  ep.token_host = cfg.token_host.empty() ? ep.host : cfg.token_host;
  ep.port = port_for(cfg);
  if (warnings && !region.warning.empty()) warnings->push_back(std::move(region.warning));
  return ep;
}

}  // namespace dsql
