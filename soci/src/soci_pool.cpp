#include <soci/postgresql/soci-postgresql.h>

#include <map>

#include "blocking_pool.hpp"
#include "dsql/soci.hpp"
#include "libpq_support.hpp"
#include "soci_token_factory.hpp"

namespace dsql {
namespace detail {
namespace {

using soci_slot = slot_of<std::unique_ptr<::soci::session>>;

// What dsql::soci_pool adds to the engine: soci::session, its hook and its checks. Thread-safe:
// the engine opens and checks from several threads; the factories are fixed at construction.
class soci_adapter final : public blocking_pool::adapter {
 public:
  soci_adapter(const std::vector<pool_endpoint>& endpoints,
               std::function<void(::soci::session&)> hook)
      : hook_(std::move(hook)) {
    // One factory per endpoint, so that every session (and its reconnects) signs for its own
    // host; the pool state owns the adapter and outlives every lease, hence every session.
    for (const auto& e : endpoints) {
      factories_.emplace(e.source.get(), std::make_unique<soci_token_factory>(e.source));
    }
  }

  slot_ptr open(const pool_endpoint& endpoint) override {
    auto slot =
        std::make_unique<soci_slot>(open_soci_session(*factories_.at(endpoint.source.get())));
    if (hook_) hook_(*slot->conn);
    return slot;
  }

  bool alive(pooled_slot& s, check_level level) override {
    ::soci::session& session = *static_cast<soci_slot&>(s).conn;
    if (!idle_connection_alive(soci_libpq_handle(session))) return false;
    if (level != check_level::query) return true;
    try {
      session << "SELECT 1";
      return true;
    } catch (...) {
      return false;
    }
  }

  // A soci::transaction ends with its object, but a user may have called begin() by hand.
  bool reusable(pooled_slot& s) noexcept override {
    auto& session = static_cast<soci_slot&>(s).conn;
    PGconn* c = session ? soci_libpq_handle(*session) : nullptr;
    if (c == nullptr || PQstatus(c) != CONNECTION_OK) return false;
    const transaction_state ts = transaction_status_of(c);
    if (ts == transaction_state::idle) return true;
    if (ts != transaction_state::in_transaction && ts != transaction_state::failed) return false;
    PGresult* r = PQexec(c, "ROLLBACK");
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok && transaction_status_of(c) == transaction_state::idle;
  }

 private:
  std::function<void(::soci::session&)> hook_;
  std::map<const connector*, std::unique_ptr<soci_token_factory>> factories_;
};

std::shared_ptr<blocking_pool> start_soci_pool(const config& cfg, pool_options options,
                                               std::function<void(::soci::session&)> hook) {
  validate(options);
  if (options.after_connect) {
    throw config_error(
        "soci_pool cannot run pool_options.after_connect (it takes a dsql::connection); pass a "
        "SOCI hook to soci_pool instead");
  }
  auto endpoints = make_endpoints(cfg, options);
  auto adapter = std::make_unique<soci_adapter>(endpoints, std::move(hook));
  return blocking_pool::start(std::move(options), std::move(endpoints), std::move(adapter));
}

}  // namespace
}  // namespace detail

soci_pool::soci_pool(const config& cfg, pool_options options,
                     std::function<void(::soci::session&)> after_connect)
    : pool_base(detail::start_soci_pool(cfg, std::move(options), std::move(after_connect))) {}

}  // namespace dsql
