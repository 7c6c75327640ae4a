#pragma once

/// @file
/// The asynchronous DSQL connector on Asio (target dsql::async): async_connect, async_connection
/// (exec, exec_params, pipeline), async_pool and async_run_transaction. Standalone Asio or
/// Boost.Asio, as configured (dsql::net names it); coroutines (net::use_awaitable) under C++20.

#include "dsql/async/connection.hpp"
#include "dsql/async/net.hpp"
#include "dsql/async/pool.hpp"
#include "dsql/async/transaction.hpp"
#include "dsql/dsql.hpp"
