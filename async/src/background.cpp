#include "background.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <thread>

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio/thread_pool.hpp>
#else
#include <asio/thread_pool.hpp>
#endif

namespace dsql::detail {

net::any_io_executor blocking_executor() {
  // Two threads: one slow credential source (IMDS timing out) does not hold up all connects.
  static net::thread_pool pool(2);
  return pool.get_executor();
}

void send_cancel_request(PGconn* conn) noexcept {
  static std::atomic<int> in_flight{0};
  constexpr int most = 4;
  PGcancel* cancel = PQgetCancel(conn);
  if (cancel == nullptr) return;
  if (in_flight.fetch_add(1) >= most) {
    --in_flight;
    PQfreeCancel(cancel);
    return;
  }
  try {
    std::thread([cancel] {
      char why[256];
      PQcancel(cancel, why, sizeof why);
      PQfreeCancel(cancel);
      --in_flight;
    }).detach();
  } catch (...) {
    --in_flight;
    PQfreeCancel(cancel);
  }
}

}  // namespace dsql::detail
