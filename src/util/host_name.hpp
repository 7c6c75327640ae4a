#pragma once

// What may stand where a host name belongs (config.host, token_host, a token's hostname, dsql
// token --host): one check, so that every place refuses the same mistakes with the same words.

#include <string_view>

namespace dsql::util {

// Throws dsql::config_error "malformed <label> '<host>': <what is wrong>; <how to fix it>"
// unless `host` is a DNS name (letters, digits, '-', '_' and '.', at most 253 characters, not
// starting with '-' or '.') or a bare IPv4 or IPv6 address. Ports, brackets, schemes and paths
// are refused: they belong elsewhere.
void check_host_name(std::string_view host, std::string_view label = "host");

// True for a bare IPv6 address (no brackets, no zone): what inet_pton accepts.
bool is_ipv6_address(std::string_view host);

}  // namespace dsql::util
