#pragma once

/// @file
/// A DSQL endpoint: where the connector connects and what it signs tokens for. Every text that
/// names one (config.host, a URI's authority, pool_options.endpoints, dsql token --host) is split
/// and checked here, so that each refuses the same mistakes with the same words.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dsql {

struct config;

/// Where to connect and what to sign for, every default applied. Immutable value once built;
/// safe to share between threads.
struct endpoint {
  std::string host;           ///< the host name connected to (a cluster ID expanded)
  std::uint16_t port = 5432;  ///< the port connected to
  std::string region;         ///< the region tokens are signed for
  std::string token_host;     ///< the host tokens are signed for (no port)
};

/// A host and the port written after it, split but not resolved. Immutable value once built;
/// safe to share between threads.
struct host_port {
  std::string host;        ///< without brackets; not checked as a host name (resolve_endpoint is)
  std::uint16_t port = 0;  ///< 0: the text names no port
};

/// Splits "host", "host:port", "[IPv6]" or "[IPv6]:port"; unbracketed text with more than one ':'
/// must be an IPv6 address, and has no port. `where` names the text's origin in messages ("in the
/// URI"). Throws config_error naming the text and the fix.
host_port parse_host_port(std::string_view text, std::string_view where);

/// A port written as text: a whole number from 1 to 65535. Throws config_error.
std::uint16_t parse_port(std::string_view text, std::string_view where);

/// True for a DSQL cluster ID: exactly 26 characters of [a-z0-9].
bool is_cluster_id(std::string_view host) noexcept;
/// True for text that can name an AWS Region: 1 to 64 characters of [a-z0-9-], no '-' at
/// either end ("us-east-1"). Says nothing of whether the Region exists.
bool is_region_name(std::string_view region) noexcept;
/// The endpoint of a cluster: \<cluster_id\>.dsql.\<region\>.on.aws.
std::string cluster_endpoint(std::string_view cluster_id, std::string_view region);
/// The region in \<id\>.dsql[-x].\<region\>.on.aws, or empty.
std::string region_from_host(std::string_view host);

/// Which region signs for `host`, and why: `explicit_region` first (config.region, --region,
/// ?region=), then the host's own, then AWS_REGION, AWS_DEFAULT_REGION and the profile's
/// `region`. The variables never override a host's region; an explicit region does, and then
/// `warning` says so, naming it by `explicit_label`. Immutable value; safe to share.
struct region_choice {
  std::string region;   ///< empty when nothing names one
  std::string warning;  ///< empty unless an explicit region contradicts the host's
};
/// The region for `host` and the warning, if any (see region_choice).
region_choice choose_region(std::string_view host, std::string_view explicit_region = {},
                            const std::string& profile = {},
                            std::string_view explicit_label = "config.region");
/// choose_region(...).region.
std::string find_region(std::string_view host, std::string_view explicit_region = {},
                        const std::string& profile = {});

/// The endpoint a config names: host and token_host checked, the region chosen (choose_region,
/// cfg.region named by `region_label` in messages) and checked, a cluster ID expanded to
/// \<id\>.dsql.\<region\>.on.aws, the port from cfg.port, else PGPORT, else 5432. Appends
/// choose_region's warning, if any, to `warnings`. Throws config_error naming what is wrong and
/// how to fix it.
endpoint resolve_endpoint(const config& cfg, std::vector<std::string>* warnings = nullptr,
                          std::string_view region_label = "config.region");

}  // namespace dsql
