#include "pool_endpoints.hpp"

#include <algorithm>

#include "dsql/errors.hpp"

namespace dsql::detail {

endpoint_spec parse_endpoint(const std::string& text) {
  if (text.empty()) throw config_error("pool_options.endpoints: an endpoint is empty");
  endpoint_spec spec;
  std::string port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) {
      throw config_error("pool_options.endpoints: '" + text + "' has no closing ']'");
    }
    spec.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        throw config_error("pool_options.endpoints: expected ':' after ']' in '" + text + "'");
      }
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    spec.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  } else {
    spec.host = text;
  }
  if (spec.host.empty()) throw config_error("pool_options.endpoints: '" + text + "' has no host");
  if (!port.empty() || (text.back() == ':')) {
    const bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    const long value = digits ? std::stol(port) : 0;
    if (value < 1 || value > 65535) {
      throw config_error("pool_options.endpoints: the port in '" + text +
                         "' must be between 1 and 65535");
    }
    spec.port = static_cast<std::uint16_t>(value);
  }
  return spec;
}

std::vector<pool_endpoint> make_endpoints(const config& cfg, const pool_options& options) {
  connector_options copts;
  copts.token_reuse_fraction = options.token_reuse_fraction;
  const auto make = [&](const config& c) {
    auto source = std::make_shared<connector>(c, copts);
    std::string name = source->settings().endpoint + ":" + std::to_string(source->settings().port);
    return pool_endpoint{std::move(name), std::move(source)};
  };
  std::vector<pool_endpoint> out;
  if (options.endpoints.empty()) {
    out.push_back(make(cfg));
    return out;
  }
  for (const auto& text : options.endpoints) {
    const auto spec = parse_endpoint(text);
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
