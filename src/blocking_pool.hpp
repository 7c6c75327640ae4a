#pragma once

// The blocking front end of the pool engine, shared by dsql::pool, dsql::pqxx_pool and
// dsql::soci_pool: threads wait on a condition variable, an upkeep thread retires and refills.
// Each adapter says only how to open, check and clean its connection type. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pool_endpoints.hpp"
#include "pool_engine.hpp"

namespace dsql::detail {

class blocking_pool final : public slot_owner {
 public:
  class adapter {
   public:
    virtual ~adapter() = default;
    // A new connection (after its hook) to `endpoint`. A connection_error there moves on to the
    // next endpoint; any other exception reaches the acquirer.
    virtual slot_ptr open(const pool_endpoint& endpoint) = 0;
    // Whether an idle connection can be handed out, checked at `level` (never `none`).
    virtual bool alive(pooled_slot& slot, check_level level) = 0;
    // On give back: leaves the connection clean for the next holder (no transaction open), or
    // says that it cannot be kept.
    virtual bool reusable(pooled_slot& slot) noexcept = 0;
  };

  // Starts the upkeep thread. Throws config_error for bad options.
  static std::shared_ptr<blocking_pool> start(pool_options options,
                                              std::vector<pool_endpoint> endpoints,
                                              std::unique_ptr<adapter> a);
  blocking_pool(pool_options options, std::vector<pool_endpoint> endpoints,
                std::unique_ptr<adapter> a);
  ~blocking_pool();

  // Waits up to `timeout`. Throws pool_closed_error, pool_timeout_error, or the error of a
  // connect made for this call.
  slot_ptr acquire(std::chrono::milliseconds timeout);
  void give_back(slot_ptr slot, bool broken) noexcept override;

  pool_stats stats() const;
  const pool_options& options() const noexcept { return engine_.options(); }
  std::string current_endpoint() const;
  // See dsql::pool::close.
  bool close(std::chrono::milliseconds wait_for_leases);
  bool closed() const;

 private:
  slot_ptr open_one(std::size_t start, std::size_t& used);
  void upkeep_loop();
  // Logs and counts what the engine's counters say changed since the last report (connections
  // opened, retired, broken; timeouts; rate refusals; failover), with m_ released: log handlers
  // and metric sinks are user code, which may call stats().
  void report() noexcept;

  std::vector<pool_endpoint> endpoints_;
  std::unique_ptr<adapter> adapter_;
  mutable std::mutex m_;
  std::condition_variable cv_;         // a connection, capacity or the end of a backoff
  std::condition_variable upkeep_cv_;  // wakes the upkeep thread at close
  pool_engine engine_;
  pool_stats reported_;  // under m_: the counters as of the last report
  std::mutex join_m_;
  std::thread upkeep_;
};

}  // namespace dsql::detail
