#include "dsql/pool.hpp"

#include <libpq-fe.h>

#include "blocking_pool.hpp"
#include "libpq_support.hpp"

namespace dsql {
namespace detail {
namespace {

using libpq_slot = slot_of<connection>;

// What dsql::pool adds to the engine: libpq connections, the after_connect hook, and a rollback
// for connections given back inside a transaction.
class libpq_adapter final : public blocking_pool::adapter {
 public:
  explicit libpq_adapter(std::function<void(connection&)> hook) : hook_(std::move(hook)) {}

  slot_ptr open(const pool_endpoint& endpoint) override {
    // If the hook throws, the slot closes the connection while unwinding and the caller sees
    // the hook's exception.
    auto slot = std::make_unique<libpq_slot>(endpoint.source->connect());
    if (hook_) hook_(slot->conn);
    return slot;
  }

  bool alive(pooled_slot& s, check_level level) override {
    connection& c = static_cast<libpq_slot&>(s).conn;
    if (c.transaction_status() != transaction_state::idle || !idle_connection_alive(c.raw())) {
      return false;
    }
    if (level != check_level::query) return true;
    try {
      c.exec("SELECT 1");
      return c.transaction_status() == transaction_state::idle;
    } catch (...) {
      return false;
    }
  }

  bool reusable(pooled_slot& s) noexcept override {
    connection& c = static_cast<libpq_slot&>(s).conn;
    if (!c.is_open()) return false;
    const transaction_state ts = c.transaction_status();
    if (ts == transaction_state::idle) return true;
    // A command in flight, or a bad connection.
    if (ts != transaction_state::in_transaction && ts != transaction_state::failed) return false;
    // The holder left a transaction open (or failed): end it here so that the next holder
    // starts clean; a connection that cannot even roll back is not worth keeping.
    try {
      c.exec("ROLLBACK");
      return c.transaction_status() == transaction_state::idle;
    } catch (...) {
      return false;
    }
  }

 private:
  std::function<void(connection&)> hook_;
};

std::shared_ptr<blocking_pool> start_libpq_pool(const config& cfg, pool_options options) {
  validate(options);
  auto endpoints = make_endpoints(cfg, options);
  auto adapter = std::make_unique<libpq_adapter>(options.after_connect);
  return blocking_pool::start(std::move(options), std::move(endpoints), std::move(adapter));
}

}  // namespace

}  // namespace detail

pool_base::pool_base(std::shared_ptr<detail::blocking_pool> engine) noexcept
    : engine_(std::move(engine)) {}

pool_base::~pool_base() {
  close();
}

pool_base::pool_base(pool_base&& other) noexcept = default;

pool_base& pool_base::operator=(pool_base&& other) noexcept {
  if (this != &other) {
    close();
    engine_ = std::move(other.engine_);
  }
  return *this;
}

detail::blocking_pool& pool_base::engine() const {
  if (!engine_) throw pool_closed_error("this pool was moved from; use the one it was moved to");
  return *engine_;
}

std::unique_ptr<detail::pooled_slot> pool_base::acquire_slot(std::chrono::milliseconds timeout) {
  return engine().acquire(timeout);
}

std::shared_ptr<detail::slot_owner> pool_base::owner() const {
  engine();
  return engine_;
}

const pool_options& pool_base::options() const {
  return engine().options();
}

pool_stats pool_base::stats() const {
  return engine().stats();
}

std::string pool_base::current_endpoint() const {
  return engine().current_endpoint();
}

bool pool_base::closed() const {
  return !engine_ || engine_->closed();
}

bool pool_base::close(std::chrono::milliseconds wait_for_leases) {
  return !engine_ || engine_->close(wait_for_leases);
}

pool::pool(const config& cfg, pool_options options)
    : pool_base(detail::start_libpq_pool(cfg, std::move(options))) {}

}  // namespace dsql
