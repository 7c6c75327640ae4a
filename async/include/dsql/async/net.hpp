#pragma once

/// @file
/// The Asio that dsql::async was built with, standalone Asio or Boost.Asio (see
/// DSQL_ASYNC_BOOST_ASIO), under one name: dsql::net is ::asio or ::boost::asio.

#include "dsql/async/asio_flavour.hpp"

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#if defined(BOOST_ASIO_HAS_CO_AWAIT)
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#define DSQL_ASYNC_HAS_COROUTINES 1
#endif
namespace dsql {
namespace net = ::boost::asio;
namespace detail {
using net_error_code = ::boost::system::error_code;
}  // namespace detail
}  // namespace dsql
#else
#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/execution.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#if defined(ASIO_HAS_CO_AWAIT)
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#define DSQL_ASYNC_HAS_COROUTINES 1
#endif
namespace dsql {
namespace net = ::asio;
namespace detail {
using net_error_code = ::asio::error_code;
}  // namespace detail
}  // namespace dsql
#endif
