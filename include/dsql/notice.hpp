#pragma once

// Notices: the NOTICE, WARNING, INFO and similar messages a server sends beside results
// ("relation ... already exists, skipping").

#include <functional>
#include <string>

namespace dsql {

struct notice {
  std::string severity;  // "NOTICE", "WARNING", ...
  std::string sqlstate;
  std::string message;  // the primary message, one line
  std::string detail;
  std::string hint;
};

// Called on the thread that runs the statement; it must not throw (what it throws is dropped).
using notice_handler = std::function<void(const notice&)>;

}  // namespace dsql
