#pragma once

// The endpoints a pool connects to: config.host alone, or the peers of a multi-Region cluster in
// pool_options.endpoints, each with its own connector (tokens signed for its own host and region).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dsql/config.hpp"
#include "dsql/connection.hpp"
#include "dsql/pool.hpp"

namespace dsql::detail {

struct endpoint_spec {
  std::string host;
  std::uint16_t port = 0;  // 0: config.port
};

// "host", "host:port", "[v6]:port" or a bare IPv6 address. Throws config_error.
endpoint_spec parse_endpoint(const std::string& text);

struct pool_endpoint {
  std::string name;  // host:port, for messages and current_endpoint()
  std::shared_ptr<connector> source;
};

// Resolves the config once per endpoint. Throws config_error.
std::vector<pool_endpoint> make_endpoints(const config& cfg, const pool_options& options);

}  // namespace dsql::detail
