#pragma once

// The endpoints a pool connects to: config.host alone, or the peers of a multi-Region cluster in
// pool_options.endpoints, each with its own connector (tokens signed for its own host and region).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsql/config.hpp"
#include "dsql/connection.hpp"
#include "dsql/pool.hpp"

namespace dsql::detail {

// How parse_host_port's messages name pool_options.endpoints.
inline constexpr std::string_view endpoints_where = "in pool_options.endpoints";

struct pool_endpoint {
  std::string name;  // host:port, for messages and current_endpoint()
  std::shared_ptr<connector> source;
};

// Resolves the config once per endpoint. Throws config_error.
std::vector<pool_endpoint> make_endpoints(const config& cfg, const pool_options& options);

}  // namespace dsql::detail
