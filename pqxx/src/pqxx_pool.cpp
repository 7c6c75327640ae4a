#include <poll.h>

#include "blocking_pool.hpp"
#include "dsql/pqxx.hpp"

namespace dsql {
namespace detail {
namespace {

using pqxx_slot = slot_of<std::unique_ptr<pqxx::connection>>;

// What dsql::pqxx_pool adds to the engine: pqxx::connection, its hook and its checks.
class pqxx_adapter final : public blocking_pool::adapter {
 public:
  explicit pqxx_adapter(std::function<void(pqxx::connection&)> hook) : hook_(std::move(hook)) {}

  slot_ptr open(const pool_endpoint& endpoint) override {
    auto slot = std::make_unique<pqxx_slot>(pqxx_connect(*endpoint.source));
    if (hook_) hook_(*slot->conn);
    return slot;
  }

  // libpqxx does not expose libpq's handle portably, so an idle connection is judged by its
  // socket: anything readable on an idle connection is the server's goodbye or a notice, and a
  // connection in doubt is cheaper to replace than to risk handing out.
  bool alive(pooled_slot& s, check_level level) override {
    pqxx::connection& c = *static_cast<pqxx_slot&>(s).conn;
    if (!c.is_open()) return false;
    const int fd = c.sock();
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) return false;
    if (level != check_level::query) return true;
    try {
      pqxx::nontransaction n(c);
      n.exec("SELECT 1");
      return true;
    } catch (...) {
      return false;
    }
  }

  // pqxx transactions end when their object does, so a connection given back is idle unless it
  // broke.
  bool reusable(pooled_slot& s) noexcept override {
    const auto& c = static_cast<pqxx_slot&>(s).conn;
    return c && c->is_open();
  }

 private:
  std::function<void(pqxx::connection&)> hook_;
};

std::shared_ptr<blocking_pool> start_pqxx_pool(const config& cfg, pool_options options,
                                               std::function<void(pqxx::connection&)> hook) {
  validate(options);
  if (options.after_connect) {
    throw config_error(
        "pqxx_pool cannot run pool_options.after_connect (it takes a dsql::connection); pass a "
        "pqxx hook to pqxx_pool instead");
  }
  auto endpoints = make_endpoints(cfg, options);
  return blocking_pool::start(std::move(options), std::move(endpoints),
                              std::make_unique<pqxx_adapter>(std::move(hook)));
}

}  // namespace
}  // namespace detail

pqxx_pool::pqxx_pool(const config& cfg, pool_options options,
                     std::function<void(pqxx::connection&)> after_connect)
    : pool_base(detail::start_pqxx_pool(cfg, std::move(options), std::move(after_connect))) {}

}  // namespace dsql
