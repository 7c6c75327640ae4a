#include <libpq-fe.h>

#include <algorithm>
#include <optional>
#include <string>

#include "connect.hpp"
#include "connection_impl.hpp"
#include "libpq_support.hpp"
#include "observe.hpp"
#include "pool_impl.hpp"

namespace dsql {
namespace detail {
namespace {

using async_slot = slot_of<async_connection>;

async_connection& connection_of(pooled_slot& s) {
  return static_cast<async_slot&>(s).conn;
}

// The refusal's text when `e` is a connect refused for rate (53400), else nothing.
std::optional<std::string> rate_refusal(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const rate_limited_error& r) {
    return std::string(r.what());
  } catch (...) {
    return std::nullopt;
  }
}

bool is_quota_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const quota_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

async_pool_impl::async_pool_impl(const net::any_io_executor& ex, const config& cfg,
                                 pool_options options, async_options connection_options)
    : ex_(ex),
      endpoints_((validate(options), make_endpoints(cfg, options))),
      connection_options_(std::move(connection_options)),
      engine_(std::move(options), endpoints_.size()),
      upkeep_(ex),
      deadline_(ex),
      backoff_(ex) {}

void async_pool_impl::start() {
  if (engine_.options().min_size == 0) return;
  net::post(ex_, [self = shared_from_this()] {
    actions todo;
    {
      std::lock_guard<std::mutex> lk(self->m_);
      self->upkeep_locked(steady::now(), todo);
      self->settle_locked();
    }
    self->run(todo);
  });
}

void async_pool_impl::acquire(std::chrono::milliseconds timeout, acquire_done done) {
  if (timeout <= std::chrono::milliseconds(0)) {
    done.post(std::make_exception_ptr(config_error("acquire: the timeout must be positive")), {});
    return;
  }
  auto w = std::make_shared<waiter>();
  w->timeout = timeout;
  w->deadline = steady::now() + timeout;
  w->done = std::move(done);
  auto slot = w->done.cancellation_slot();
  if (slot.is_connected()) {
    // Leaving the queue has no side effects, so every cancellation type is honoured.
    std::weak_ptr<async_pool_impl> pool = shared_from_this();
    std::weak_ptr<waiter> weak = w;
    slot.assign([pool, weak](net::cancellation_type type) {
      if (type == net::cancellation_type::none) return;
      auto self = pool.lock();
      if (!self) return;
      net::post(self->ex_, [self, weak] {
        if (auto waiting = weak.lock()) self->give_up(waiting);
      });
    });
  }
  // Never inline: a connection at hand must not complete the caller inside its own call.
  net::post(ex_, [self = shared_from_this(), w] { self->enqueue(w); });
}

void async_pool_impl::enqueue(const waiter_ptr& w) {
  actions todo;
  {
    std::lock_guard<std::mutex> lk(m_);
    engine_.count_acquire();
    waiters_.push_back(w);
    pump_locked(steady::now(), todo);
    if (!w->finished) {
      if (!w->has_connect && std::find(waiters_.begin(), waiters_.end(), w) != waiters_.end()) {
        engine_.count_wait();
      }
      arm_deadline_locked(w->deadline);
    }
    settle_locked();
  }
  run(todo);
  count(metric::pool_acquires);  // outside the lock: a sink is user code
}

void async_pool_impl::pump() {
  actions todo;
  {
    std::lock_guard<std::mutex> lk(m_);
    pump_posted_ = false;
    pump_locked(steady::now(), todo);
    settle_locked();
  }
  run(todo);
}

void async_pool_impl::pump_locked(steady::time_point now, actions& todo) {
  if (engine_.closed()) {
    while (!waiters_.empty()) {
      fail_locked(waiters_.front(),
                  std::make_exception_ptr(pool_closed_error("the pool is closed")), todo);
    }
    return;
  }
  // Between uses no timer runs, so the first use after a pause catches up.
  if (now - last_upkeep_ >= engine_.options().upkeep_interval) upkeep_locked(now, todo);
  while (!waiters_.empty()) {
    const bool may_connect = connects_for_waiters_ < waiters_.size();
    auto s = engine_.next(now, todo.doomed, may_connect);
    if (s.kind == pool_engine::step::use) {
      waiter_ptr w = waiters_.front();
      waiters_.pop_front();
      if (s.check == check_level::none) {
        grant_locked(w, std::move(s.slot), todo);
      } else {
        todo.checks.push_back({w, std::move(s.slot), s.check});
      }
    } else if (s.kind == pool_engine::step::connect) {
      ++connects_for_waiters_;
      const auto owner = std::find_if(waiters_.begin(), waiters_.end(),
                                      [](const waiter_ptr& w) { return !w->has_connect; });
      (*owner)->has_connect = true;
      todo.connects.emplace_back(s.endpoint, *owner);
    } else {
      if (s.wake_at != steady::time_point::max()) arm_backoff_locked(s.wake_at);
      break;
    }
  }
}

void async_pool_impl::run(actions& todo) {
  for (auto& [w, e] : todo.failures) w->done(e, async_lease());
  for (auto& [w, slot] : todo.grants)
    w->done(nullptr, async_lease(shared_from_this(), std::move(slot)));
  for (auto& [endpoint, owner] : todo.connects) {
    connect(failover_walk(endpoint, endpoints_.size()), owner);
  }
  for (auto& c : todo.checks) check(std::move(c));
  todo.doomed.clear();
}

void async_pool_impl::grant_locked(waiter_ptr w, slot_ptr slot, actions& todo) {
  w->finished = true;
  todo.grants.emplace_back(w, std::move(slot));
}

void async_pool_impl::fail_locked(waiter_ptr w, std::exception_ptr e, actions& todo) {
  w->finished = true;
  waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), w), waiters_.end());
  todo.failures.emplace_back(w, std::move(e));
}

void async_pool_impl::give_up(const waiter_ptr& w) {
  actions todo;
  {
    std::lock_guard<std::mutex> lk(m_);
    if (w->finished) return;
    fail_locked(w, std::make_exception_ptr(cancelled_error("the acquire was cancelled")), todo);
    settle_locked();
  }
  run(todo);
}

void async_pool_impl::arm_deadline_locked(steady::time_point at) {
  deadline_.arm(at, [self = shared_from_this()](unsigned g) { self->deadline_passed(g); });
}

void async_pool_impl::deadline_passed(unsigned generation) {
  actions todo;
  std::size_t timeouts = 0;
  {
    std::lock_guard<std::mutex> lk(m_);
    if (!deadline_.take(generation)) return;  // re-armed for an earlier deadline
    const auto now = steady::now();
    std::vector<waiter_ptr> late;
    auto next = steady::time_point::max();
    for (const auto& w : waiters_) {
      if (w->deadline <= now) {
        late.push_back(w);
      } else {
        next = std::min(next, w->deadline);
      }
    }
    for (auto& w : late) {
      fail_locked(w, std::make_exception_ptr(pool_timeout_error(engine_.timed_out(w->timeout))),
                  todo);
    }
    timeouts = late.size();
    if (next != steady::time_point::max()) arm_deadline_locked(next);
    settle_locked();
  }
  run(todo);
  count(metric::pool_acquire_timeouts, timeouts);
}

void async_pool_impl::upkeep_locked(steady::time_point now, actions& todo) {
  last_upkeep_ = now;
  while (auto endpoint = engine_.upkeep(now, todo.doomed)) {
    todo.connects.emplace_back(*endpoint, nullptr);
  }
}

void async_pool_impl::settle_locked() {
  update_upkeep_locked();
  // Backoffs and deadlines matter only to waiters; left armed they would keep run() going.
  if (waiters_.empty()) {
    backoff_.disarm();
    deadline_.disarm();
  }
}

void async_pool_impl::update_upkeep_locked() {
  const auto s = engine_.stats();
  const bool needed = !engine_.closed() && (s.in_use > 0 || s.connecting > 0 || !waiters_.empty() ||
                                            s.open < options().min_size);
  if (!needed) {
    upkeep_.disarm();
    return;
  }
  upkeep_.arm(steady::now() + options().upkeep_interval, [self = shared_from_this()](unsigned g) {
    actions todo;
    {
      std::lock_guard<std::mutex> lk(self->m_);
      if (!self->upkeep_.take(g)) return;
      self->upkeep_locked(steady::now(), todo);
      self->pump_locked(steady::now(), todo);
      self->settle_locked();
    }
    self->run(todo);
  });
}

void async_pool_impl::arm_backoff_locked(steady::time_point at) {
  backoff_.arm(at, [self = shared_from_this()](unsigned g) {
    {
      std::lock_guard<std::mutex> lk(self->m_);
      if (!self->backoff_.take(g)) return;  // replaced by an earlier end, or no longer wanted
    }
    self->pump();
  });
}

// One new connection, walking the endpoints from the engine's choice as blocking_pool does.
void async_pool_impl::connect(failover_walk walk, waiter_ptr owner) {
  const auto& ep = endpoints_[walk.endpoint()];
  start_connect(ex_, ep.source, connection_options_,
                connect_done(
                    [self = shared_from_this(), walk, owner](std::exception_ptr e,
                                                             async_connection c) mutable {
                      if (!e) return self->connected(walk.endpoint(), std::move(c), owner);
                      // A quota is the cluster's answer, not an outage: no failover.
                      if (!is_connection_error(e) || walk.single() || is_quota_error(e)) {
                        return self->connect_failed(e, owner);
                      }
                      if (walk.failed(self->endpoints_[walk.endpoint()].name, message_of(e))) {
                        return self->connect(std::move(walk), std::move(owner));
                      }
                      self->connect_failed(std::make_exception_ptr(walk.error()), owner);
                    },
                    ex_));
}

void async_pool_impl::connected(std::size_t endpoint, async_connection c, const waiter_ptr& owner) {
  actions todo;
  {
    std::lock_guard<std::mutex> lk(m_);
    const auto now = steady::now();
    if (owner) {
      --connects_for_waiters_;
      owner->has_connect = false;
    }
    auto slot =
        engine_.connected(std::make_unique<async_slot>(std::move(c)), endpoint, now, todo.doomed);
    if (slot) {
      if (!waiters_.empty()) {
        waiter_ptr w = waiters_.front();
        waiters_.pop_front();
        grant_locked(w, std::move(slot), todo);
      } else {
        engine_.give_back(std::move(slot), true, now, todo.doomed);
      }
    }
    pump_locked(now, todo);
    settle_locked();
  }
  run(todo);
}

void async_pool_impl::connect_failed(std::exception_ptr e, const waiter_ptr& owner) {
  actions todo;
  {
    std::lock_guard<std::mutex> lk(m_);
    const auto now = steady::now();
    const auto refusal = rate_refusal(e);
    const auto retry_at =
        refusal ? engine_.connect_rate_limited(*refusal, now) : steady::time_point::min();
    if (!refusal) engine_.connect_failed(e, now);
    if (owner) {
      --connects_for_waiters_;
      owner->has_connect = false;
      // The error of a connect made for this acquire is its answer, as with dsql::pool; a
      // refusal for rate only once the acquire's deadline leaves no time for another try.
      if (!owner->finished && (!refusal || retry_at >= owner->deadline))
        fail_locked(owner, e, todo);
    }
    pump_locked(now, todo);
    settle_locked();
  }
  run(todo);
}

void async_pool_impl::check(actions::check c) {
  async_connection& conn = connection_of(*c.slot);
  auto* impl = conn.impl();
  // The socket look reads libpq's input, so it runs on the connection's strand.
  net::post(impl->strand(), [self = shared_from_this(), c = std::move(c), impl]() mutable {
    const bool alive = !impl->closing() && idle_connection_alive(impl->conn());
    if (!alive || c.level != check_level::query) {
      self->checked(c.w, std::move(c.slot), alive);
      return;
    }
    async_connection& target = connection_of(*c.slot);
    target.async_exec("SELECT 1", [self, w = c.w, slot = std::move(c.slot)](std::exception_ptr e,
                                                                            result) mutable {
      const bool ok = !e && !connection_of(*slot).in_transaction();
      self->checked(w, std::move(slot), ok);
    });
  });
}

void async_pool_impl::checked(const waiter_ptr& w, slot_ptr slot, bool ok) {
  actions todo;
  {
    std::lock_guard<std::mutex> lk(m_);
    const auto now = steady::now();
    if (!ok || engine_.closed()) {
      engine_.discard(std::move(slot), !ok, todo.doomed);
      if (!w->finished) waiters_.push_front(w);
    } else if (w->finished) {
      engine_.give_back(std::move(slot), true, now, todo.doomed);  // it gave up meanwhile
    } else {
      grant_locked(w, std::move(slot), todo);
    }
    pump_locked(now, todo);
    settle_locked();
  }
  run(todo);
}

void async_pool_impl::give_back(slot_ptr slot, bool broken) noexcept {
  async_connection& c = connection_of(*slot);
  bool reusable = !broken && c.is_open() && !c.busy();
  if (reusable) {
    const transaction_state ts = c.transaction_status();
    if (ts == transaction_state::in_transaction || ts == transaction_state::failed) {
      // The holder left a transaction open: roll it back before anyone else gets it, without
      // blocking whoever gave it back. Until then it stays counted in use.
      c.async_exec("ROLLBACK", [self = shared_from_this(), slot = std::move(slot)](
                                   std::exception_ptr e, result) mutable {
        const bool clean = !e && !connection_of(*slot).in_transaction();
        self->returned(std::move(slot), clean);
      });
      return;
    }
    reusable = ts == transaction_state::idle;
  }
  returned(std::move(slot), reusable);
}

void async_pool_impl::returned(slot_ptr slot, bool reusable) {
  doomed_slots doomed;
  std::lock_guard<std::mutex> lk(m_);
  engine_.give_back(std::move(slot), reusable, steady::now(), doomed);
  // Waiters are served from the executor, not from inside the lease's destructor.
  if (!waiters_.empty() && !pump_posted_) {
    pump_posted_ = true;
    net::post(ex_, [self = shared_from_this()] { self->pump(); });
  }
  settle_locked();
}

pool_stats async_pool_impl::stats() const {
  std::lock_guard<std::mutex> lk(m_);
  return engine_.stats();
}

std::string async_pool_impl::current_endpoint() const {
  std::lock_guard<std::mutex> lk(m_);
  return endpoints_[engine_.current_endpoint()].name;
}

void async_pool_impl::close() {
  actions todo;
  {
    std::lock_guard<std::mutex> lk(m_);
    engine_.close(todo.doomed);
    pump_locked(steady::now(), todo);  // fails every waiter
    settle_locked();
  }
  run(todo);
}

bool async_pool_impl::closed() const {
  std::lock_guard<std::mutex> lk(m_);
  return engine_.closed();
}

}  // namespace detail

async_pool::async_pool(const executor_type& ex, const config& cfg, pool_options options,
                       async_options connection_options) {
  if (options.after_connect) {
    throw config_error(
        "async_pool cannot run pool_options.after_connect (it takes a blocking "
        "dsql::connection); use async_options::after_connect");
  }
  impl_ = std::make_shared<detail::async_pool_impl>(ex, cfg, std::move(options),
                                                    std::move(connection_options));
  impl_->start();
}

async_pool::~async_pool() {
  close();
}

async_pool::async_pool(async_pool&& other) noexcept = default;

async_pool& async_pool::operator=(async_pool&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

const std::shared_ptr<detail::async_pool_impl>& async_pool::impl() const {
  if (!impl_) throw pool_closed_error("this pool was moved from; use the one it was moved to");
  return impl_;
}

async_pool::executor_type async_pool::get_executor() const {
  return impl()->executor();
}

const pool_options& async_pool::options() const {
  return impl()->options();
}

pool_stats async_pool::stats() const {
  return impl()->stats();
}

std::string async_pool::current_endpoint() const {
  return impl()->current_endpoint();
}

void async_pool::close() {
  if (impl_) impl_->close();
}

bool async_pool::closed() const {
  return !impl_ || impl_->closed();
}

void async_pool::start_acquire(std::chrono::milliseconds timeout,
                               detail::completion<std::exception_ptr, async_lease> done) {
  impl()->acquire(timeout, std::move(done));
}

}  // namespace dsql
