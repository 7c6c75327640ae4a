#include <poll.h>

#include <condition_variable>
#include <mutex>
#include <random>
#include <vector>

#include "dsql/pqxx.hpp"

namespace dsql {
namespace detail {
namespace {

using steady = std::chrono::steady_clock;

// libpqxx does not expose libpq's handle portably, so an idle connection is judged by its socket:
// anything readable on an idle connection is the server's goodbye or a notice, and a connection
// in doubt is cheaper to replace than to risk handing out.
bool idle_socket_quiet(pqxx::connection& c) {
  if (!c.is_open()) return false;
  const int fd = c.sock();
  if (fd < 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

bool query_alive(pqxx::connection& c) {
  try {
    pqxx::nontransaction n(c);
    n.exec("SELECT 1");
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

struct pqxx_slot {
  std::unique_ptr<pqxx::connection> conn;
  steady::time_point expires{};
  steady::time_point last_used{};
};

struct pqxx_pool_state {
  pool_options opts;
  std::function<void(pqxx::connection&)> after_connect;
  std::unique_ptr<connector> source;

  mutable std::mutex m;
  std::condition_variable cv;
  std::vector<std::unique_ptr<pqxx_slot>> idle;
  std::size_t in_use = 0;
  std::size_t connecting = 0;
  bool closed = false;
  pool_stats counters;
  std::mt19937_64 rng{std::random_device{}()};

  std::size_t open() const { return idle.size() + in_use; }

  steady::time_point expiry(steady::time_point now) {
    const auto life = std::chrono::duration<double>(opts.max_lifetime);
    std::uniform_real_distribution<double> share(0.0, opts.max_lifetime_jitter);
    const double jitter = opts.max_lifetime_jitter > 0.0 ? share(rng) : 0.0;
    return now + std::chrono::duration_cast<steady::duration>(life * (1.0 - jitter));
  }

  // Under the lock: drops idle connections that are too old or idle too long.
  void retire_idle(steady::time_point now, std::vector<std::unique_ptr<pqxx_slot>>& doomed) {
    for (auto it = idle.begin(); it != idle.end();) {
      if (now >= (*it)->expires || now - (*it)->last_used >= opts.idle_timeout) {
        doomed.push_back(std::move(*it));
        it = idle.erase(it);
        ++counters.retired;
      } else {
        ++it;
      }
    }
  }

  void give_back(std::unique_ptr<pqxx_slot> slot, bool broken) noexcept {
    // pqxx transactions end when their object does, so a connection given back is idle unless
    // it broke.
    const bool keep = !broken && slot->conn && slot->conn->is_open();
    const auto now = steady::now();
    std::unique_lock<std::mutex> lk(m);
    --in_use;
    if (keep && !closed && now < slot->expires) {
      slot->last_used = now;
      idle.push_back(std::move(slot));
      cv.notify_one();
      return;
    }
    ++(keep ? counters.retired : counters.broken);
    cv.notify_all();
    lk.unlock();
    slot.reset();
  }
};

}  // namespace detail

using detail::pqxx_pool_state;
using detail::pqxx_slot;
using steady = std::chrono::steady_clock;

pqxx_pool::lease::lease() noexcept = default;
pqxx_pool::lease::lease(std::shared_ptr<pqxx_pool_state> pool,
                        std::unique_ptr<pqxx_slot> slot) noexcept
    : pool_(std::move(pool)), slot_(std::move(slot)) {}
pqxx_pool::lease::~lease() {
  give_back(false);
}
pqxx_pool::lease::lease(lease&& other) noexcept = default;
pqxx_pool::lease& pqxx_pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    give_back(false);
    pool_ = std::move(other.pool_);
    slot_ = std::move(other.slot_);
  }
  return *this;
}

pqxx::connection& pqxx_pool::lease::get() const {
  if (!slot_) {
    throw lease_error("this lease holds no connection: it was released, discarded or moved from");
  }
  return *slot_->conn;
}

void pqxx_pool::lease::release() noexcept {
  give_back(false);
}
void pqxx_pool::lease::release_broken() noexcept {
  give_back(true);
}
void pqxx_pool::lease::give_back(bool broken) noexcept {
  if (!slot_) return;
  auto pool = std::move(pool_);
  pool->give_back(std::move(slot_), broken);
}

pqxx_pool::pqxx_pool(const config& cfg, pool_options options,
                     std::function<void(pqxx::connection&)> after_connect) {
  validate(options);
  if (options.min_size != 0 || !options.endpoints.empty() || options.after_connect) {
    throw config_error(
        "pqxx_pool supports neither min_size, endpoints nor pool_options.after_connect; use "
        "dsql::pool for those, or pass a pqxx hook to pqxx_pool");
  }
  auto s = std::make_shared<pqxx_pool_state>();
  connector::options copts;
  copts.token_reuse_fraction = options.token_reuse_fraction;
  s->source = std::make_unique<connector>(cfg, copts);
  s->opts = std::move(options);
  s->after_connect = std::move(after_connect);
  state_ = std::move(s);
}

pqxx_pool::~pqxx_pool() {
  close();
}

pqxx_pool::lease pqxx_pool::acquire() {
  return acquire(state_->opts.acquire_timeout);
}

pqxx_pool::lease pqxx_pool::acquire(std::chrono::milliseconds timeout) {
  if (timeout <= std::chrono::milliseconds(0)) {
    throw config_error("acquire: the timeout must be positive");
  }
  pqxx_pool_state& s = *state_;
  const auto deadline = steady::now() + timeout;
  std::vector<std::unique_ptr<pqxx_slot>> doomed;  // closed after the lock is released
  std::unique_lock<std::mutex> lk(s.m);
  ++s.counters.acquires;
  bool waited = false;
  for (;;) {
    if (s.closed) throw pool_closed_error("the pool is closed");
    auto now = steady::now();
    s.retire_idle(now, doomed);
    if (!s.idle.empty()) {
      auto slot = std::move(s.idle.back());
      s.idle.pop_back();
      ++s.in_use;
      const auto idle_for = now - slot->last_used;
      if (idle_for >= std::chrono::milliseconds(1)) {
        lk.unlock();
        bool ok = detail::idle_socket_quiet(*slot->conn);
        if (ok && idle_for >= s.opts.validate_idle_after) ok = detail::query_alive(*slot->conn);
        lk.lock();
        if (!ok || s.closed) {
          --s.in_use;
          ++(ok ? s.counters.retired : s.counters.broken);
          doomed.push_back(std::move(slot));
          s.cv.notify_all();
          continue;
        }
      }
      return lease(state_, std::move(slot));
    }
    if (s.open() + s.connecting < s.opts.max_size) {
      ++s.connecting;
      lk.unlock();
      auto slot = std::make_unique<pqxx_slot>();
      try {
        slot->conn = pqxx_connect(*s.source);
        if (s.after_connect) s.after_connect(*slot->conn);
      } catch (...) {
        slot.reset();
        lk.lock();
        --s.connecting;
        ++s.counters.failed_connects;
        s.cv.notify_all();
        throw;
      }
      lk.lock();
      --s.connecting;
      ++s.counters.created;
      now = steady::now();
      slot->last_used = now;
      slot->expires = s.expiry(now);
      if (s.closed) {
        doomed.push_back(std::move(slot));
        continue;
      }
      ++s.in_use;
      return lease(state_, std::move(slot));
    }
    if (!waited) {
      waited = true;
      ++s.counters.waits;
    }
    if (now >= deadline) {
      ++s.counters.timeouts;
      throw pool_timeout_error("acquire timed out after " + std::to_string(timeout.count()) +
                               " ms: all " + std::to_string(s.opts.max_size) +
                               " connections in use");
    }
    s.cv.wait_until(lk, deadline);
  }
}

pool_stats pqxx_pool::stats() const {
  const pqxx_pool_state& s = *state_;
  std::lock_guard<std::mutex> lk(s.m);
  pool_stats out = s.counters;
  out.idle = s.idle.size();
  out.in_use = s.in_use;
  out.open = s.open();
  out.connecting = s.connecting;
  return out;
}

void pqxx_pool::close() {
  std::vector<std::unique_ptr<pqxx_slot>> doomed;
  std::lock_guard<std::mutex> lk(state_->m);
  if (!state_->closed) {
    state_->closed = true;
    state_->counters.retired += state_->idle.size();
    doomed = std::move(state_->idle);
    state_->idle.clear();
  }
  state_->cv.notify_all();
}

}  // namespace dsql
