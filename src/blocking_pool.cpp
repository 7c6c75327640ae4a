#include "blocking_pool.hpp"

namespace dsql::detail {

std::shared_ptr<blocking_pool> blocking_pool::start(pool_options options,
                                                    std::vector<pool_endpoint> endpoints,
                                                    std::unique_ptr<adapter> a) {
  auto p = std::make_shared<blocking_pool>(std::move(options), std::move(endpoints), std::move(a));
  blocking_pool* raw = p.get();
  p->upkeep_ = std::thread([raw] { raw->upkeep_loop(); });
  return p;
}

blocking_pool::blocking_pool(pool_options options, std::vector<pool_endpoint> endpoints,
                             std::unique_ptr<adapter> a)
    : endpoints_(std::move(endpoints)),
      adapter_(std::move(a)),
      engine_(std::move(options), endpoints_.size()) {}

blocking_pool::~blocking_pool() {
  close(std::chrono::milliseconds(0));
}

slot_ptr blocking_pool::open_one(std::size_t start, std::size_t& used) {
  failover_walk walk(start, endpoints_.size());
  for (;;) {
    const std::size_t i = walk.endpoint();
    try {
      slot_ptr slot = adapter_->open(endpoints_[i]);
      used = i;
      return slot;
    } catch (const connection_error& e) {
      if (walk.single()) throw;
      if (!walk.failed(endpoints_[i].name, e.what())) throw walk.error();
    }
  }
}

slot_ptr blocking_pool::acquire(std::chrono::milliseconds timeout) {
  if (timeout <= std::chrono::milliseconds(0)) {
    throw config_error("acquire: the timeout must be positive");
  }
  const auto deadline = steady::now() + timeout;
  // Declared before the lock so that connections are closed after it is released.
  doomed_slots doomed;
  std::unique_lock<std::mutex> lk(m_);
  engine_.count_acquire();
  bool waited = false;
  for (;;) {
    const auto now = steady::now();
    auto s = engine_.next(now, doomed);
    if (!doomed.empty()) cv_.notify_all();  // expired ones made room
    if (s.kind == pool_engine::step::use) {
      if (s.check == check_level::none) return std::move(s.slot);
      lk.unlock();
      const bool ok = adapter_->alive(*s.slot, s.check);
      lk.lock();
      if (ok && !engine_.closed()) return std::move(s.slot);
      engine_.discard(std::move(s.slot), !ok, doomed);
      cv_.notify_all();
      continue;
    }
    if (s.kind == pool_engine::step::connect) {
      lk.unlock();
      slot_ptr slot;
      std::size_t used = s.endpoint;
      try {
        slot = open_one(s.endpoint, used);
      } catch (...) {
        lk.lock();
        engine_.connect_failed(std::current_exception(), steady::now());
        cv_.notify_all();
        throw;
      }
      lk.lock();
      slot = engine_.connected(std::move(slot), used, steady::now(), doomed);
      if (slot) return slot;
      cv_.notify_all();
      continue;  // closed meanwhile: next() says so
    }
    if (!waited) {
      waited = true;
      engine_.count_wait();
    }
    if (now >= deadline) throw pool_timeout_error(engine_.timed_out(timeout));
    cv_.wait_until(lk, std::min(deadline, s.wake_at));
  }
}

void blocking_pool::give_back(slot_ptr slot, bool broken) noexcept {
  const bool reusable = !broken && adapter_->reusable(*slot);
  doomed_slots doomed;
  std::lock_guard<std::mutex> lk(m_);
  if (engine_.give_back(std::move(slot), reusable, steady::now(), doomed)) {
    cv_.notify_one();
  } else {
    cv_.notify_all();  // capacity for a new connection, or close() waiting for leases
  }
}

void blocking_pool::upkeep_loop() {
  std::unique_lock<std::mutex> lk(m_);
  bool again = false;
  while (!engine_.closed()) {
    if (!again) upkeep_cv_.wait_for(lk, engine_.options().upkeep_interval);
    again = false;
    doomed_slots doomed;
    const auto endpoint = engine_.upkeep(steady::now(), doomed);
    if (!doomed.empty()) {
      cv_.notify_all();  // capacity freed
      lk.unlock();
      doomed.clear();
      lk.lock();
    }
    if (!endpoint) continue;
    lk.unlock();
    slot_ptr slot;
    std::size_t used = *endpoint;
    std::exception_ptr failure;
    try {
      slot = open_one(*endpoint, used);
    } catch (...) {
      failure = std::current_exception();
    }
    lk.lock();
    const auto now = steady::now();
    if (failure) {
      engine_.connect_failed(failure, now);
    } else if ((slot = engine_.connected(std::move(slot), used, now, doomed))) {
      engine_.give_back(std::move(slot), true, now, doomed);
      again = true;  // refill to min_size without waiting a whole interval
    }
    cv_.notify_all();
    if (!doomed.empty()) {
      lk.unlock();
      doomed.clear();
      lk.lock();
    }
  }
}

pool_stats blocking_pool::stats() const {
  std::lock_guard<std::mutex> lk(m_);
  return engine_.stats();
}

std::string blocking_pool::current_endpoint() const {
  std::lock_guard<std::mutex> lk(m_);
  return endpoints_[engine_.current_endpoint()].name;
}

bool blocking_pool::closed() const {
  std::lock_guard<std::mutex> lk(m_);
  return engine_.closed();
}

bool blocking_pool::close(std::chrono::milliseconds wait_for_leases) {
  doomed_slots doomed;
  {
    std::lock_guard<std::mutex> lk(m_);
    engine_.close(doomed);
    cv_.notify_all();
    upkeep_cv_.notify_all();
  }
  doomed.clear();
  {
    std::lock_guard<std::mutex> jl(join_m_);
    if (upkeep_.joinable() && upkeep_.get_id() != std::this_thread::get_id()) upkeep_.join();
  }
  std::unique_lock<std::mutex> lk(m_);
  return cv_.wait_for(lk, wait_for_leases,
                      [&] { return engine_.in_use() == 0 && engine_.connecting() == 0; });
}

}  // namespace dsql::detail
