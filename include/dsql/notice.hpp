#pragma once

/// @file
/// Notices: the NOTICE, WARNING, INFO and similar messages a server sends beside results
/// ("relation ... already exists, skipping").

#include <functional>
#include <string>

namespace dsql {

/// One notice from the server. A plain value: copy it freely, share it read-only between threads.
struct notice {
  std::string severity;  ///< "NOTICE", "WARNING", ...
  std::string sqlstate;  ///< The SQLSTATE code, e.g. "42P07"; may be empty.
  std::string message;   ///< the primary message, one line
  std::string detail;    ///< The optional secondary message; may be empty.
  std::string hint;      ///< The optional suggestion what to do; may be empty.
};

/// Called on the thread that runs the statement; it must not throw (what it throws is dropped).
using notice_handler = std::function<void(const notice&)>;

}  // namespace dsql
