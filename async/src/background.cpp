#include "background.hpp"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#if DSQL_ASYNC_BOOST_ASIO
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#else
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#endif

namespace dsql::detail {

namespace {

// The library's own threads, each running one io_context.
class background_threads {
 public:
  background_threads(int count, int nice) : work_(net::make_work_guard(io_)) {
    // OpenSSL, first used on these threads, would register its exit-time cleanup after our
    // destructor and so run it first; then the threads' own OpenSSL state is never freed.
    OPENSSL_init_ssl(0, nullptr);
    for (int i = 0; i < count; ++i) {
      threads_.emplace_back([this, nice] {
        if (nice != 0) ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice);
        io_.run();
        OPENSSL_thread_stop();
      });
    }
  }
  ~background_threads() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  net::any_io_executor executor() { return io_.get_executor(); }

 private:
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace

net::any_io_executor blocking_executor() {
  // Two threads: one slow credential source (IMDS timing out) does not hold up all connects.
  static background_threads pool(2, 0);
  return pool.executor();
}

net::any_io_executor compute_executor() {
  // At nice 10: background work must lose the CPU to the callers' event loops, not compete
  // with them.
  static background_threads pool(2, 10);
  return pool.executor();
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
