#pragma once

// The dsql_rules PostgreSQL library (local/extension/), embedded in the dsql command at build
// time. `dsql local` writes it into its state directory and preloads it into PostgreSQL.

#include <string_view>

namespace dsql::local {

std::string_view embedded_rules_library();

}  // namespace dsql::local
