#pragma once

// Connecting without blocking, for async_connect and the pool.

#include <memory>

#include "dsql/async/connection.hpp"
#include "dsql/connection.hpp"

namespace dsql::detail {

using connect_done = completion<std::exception_ptr, async_connection>;

// With a connector: its credentials and its reused token (the pool's way).
void start_connect(const net::any_io_executor& ex, std::shared_ptr<connector> source,
                   async_options options, connect_done done);

}  // namespace dsql::detail
