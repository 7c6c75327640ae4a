#pragma once

// What the three files of `session` share: the front's fixed texts and small helpers.

#include <cstdint>
#include <string>
#include <string_view>

#include "local/wire_protocol.hpp"

namespace dsql::local::session_detail {

inline constexpr std::string_view access_denied = "unable to accept connection, access denied";
inline constexpr std::string_view oc000 = "change conflicts with another transaction (OC000)";
inline constexpr std::string_view oc001 = "schema has been updated by another transaction (OC001)";

inline wire::error_info error(std::string sqlstate, std::string message, std::string hint = {}) {
  return {std::move(sqlstate), std::move(message), std::move(hint)};
}

inline std::uint64_t cancel_id(std::uint32_t pid, std::uint32_t key) {
  return (std::uint64_t{pid} << 32) | key;
}

}  // namespace dsql::local::session_detail
