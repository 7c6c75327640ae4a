#include "pool_endpoints.hpp"

#include "dsql/endpoint.hpp"

namespace dsql::detail {

std::vector<pool_endpoint> make_endpoints(const config& cfg, const pool_options& options) {
  connector_options copts;
  copts.token_reuse_fraction = options.token_reuse_fraction;
  const auto make = [&](const config& c) {
    auto source = std::make_shared<connector>(c, copts);
    const endpoint& target = source->settings().target;
    std::string name = target.host + ":" + std::to_string(target.port);
    return pool_endpoint{std::move(name), std::move(source)};
  };
  std::vector<pool_endpoint> out;
  if (options.endpoints.empty()) {
    out.push_back(make(cfg));
    return out;
  }
  for (const auto& text : options.endpoints) {
    const host_port spec = parse_host_port(text, endpoints_where);
    config peer = cfg;
    peer.host = spec.host;
    if (spec.port != 0) peer.port = spec.port;
    // Both are tied to one host: each peer is signed for and connects to its own name.
    peer.token_host.clear();
    peer.hostaddr.clear();
    // A peer in another Region must be signed for its own Region, not the one config.region
    // names for the first endpoint.
    if (!region_from_host(spec.host).empty()) peer.region.clear();
    out.push_back(make(peer));
  }
  return out;
}

}  // namespace dsql::detail
