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

}  // namespace
}  // namespace detail

pool::pool(const config& cfg, pool_options options) {
  validate(options);
  auto endpoints = detail::make_endpoints(cfg, options);
  auto adapter = std::make_unique<detail::libpq_adapter>(options.after_connect);
  state_ =
      detail::blocking_pool::start(std::move(options), std::move(endpoints), std::move(adapter));
}

pool::~pool() {
  close();
}

const pool_options& pool::options() const noexcept {
  return state_->options();
}

lease pool::acquire() {
  return acquire(state_->options().acquire_timeout);
}

lease pool::acquire(std::chrono::milliseconds timeout) {
  return lease(state_, state_->acquire(timeout));
}

pool_stats pool::stats() const {
  return state_->stats();
}

std::string pool::current_endpoint() const {
  return state_->current_endpoint();
}

bool pool::closed() const {
  return state_->closed();
}

bool pool::close(std::chrono::milliseconds wait_for_leases) {
  return state_->close(wait_for_leases);
}

}  // namespace dsql
