#pragma once

// For the unit tests only: forget the installed handler's precedence and read DSQL_LOG again on
// the next check, as a new process would. Thread-safe.

namespace dsql::detail {

void reread_log_env_for_tests();

}  // namespace dsql::detail
