#pragma once

// For tests of dsql::async: `asio::` names whichever Asio the library was built with (the
// tests read as a user of either flavour writes), and a coroutine runner.

#include <exception>
#include <string>
#include <utility>

#include "dsql/async.hpp"

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio.hpp>
namespace asio = boost::asio;
#else
#include <asio.hpp>
#endif

namespace dsql::test {

// The first column of a row as a number.
inline long long number(const result& r, std::size_t row = 0) {
  return std::stoll(std::string(r.value(row, 0)));
}

#if defined(DSQL_ASYNC_HAS_COROUTINES)
// Runs `coroutine` (a callable returning asio::awaitable<void>) on `io` until the context runs
// out of work, then rethrows what the coroutine threw. Returning at all proves that nothing the
// library left behind (timers, socket waits) keeps the context busy.
template <class F>
void run_coroutine(asio::io_context& io, F&& coroutine) {
  std::exception_ptr failure;
  bool finished = false;
  asio::co_spawn(io, std::forward<F>(coroutine), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  io.restart();
  io.run();
  if (!finished) throw std::logic_error("io_context::run returned before the coroutine ended");
  if (failure) std::rethrow_exception(failure);
}
#endif

}  // namespace dsql::test
