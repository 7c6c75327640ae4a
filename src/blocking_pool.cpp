#include "blocking_pool.hpp"

#include "observe.hpp"

namespace dsql::detail {
namespace {

bool observing() noexcept {
  // log_on(warn) holds at debug and info too.
  return log_on(log_level::warn) || metrics_on();
}

}  // namespace

void blocking_pool::report() noexcept {
  if (!observing()) return;
  try {
    pool_stats now, before;
    std::string endpoint, previous;
    {
      std::lock_guard<std::mutex> lk(m_);
      now = engine_.stats();
      before = reported_;
      reported_ = now;
      endpoint = endpoints_[now.endpoint_index].name;
      previous = endpoints_[before.endpoint_index].name;
    }
    count(metric::pool_acquires, now.acquires - before.acquires);
    count(metric::pool_acquire_timeouts, now.timeouts - before.timeouts);
    const auto event = [&](log_level level, const char* name, std::uint64_t n) {
      if (n == 0 || !log_on(level)) return;
      log(level, name,
          {{"endpoint", endpoint},
           {"count", std::to_string(n)},
           {"open", std::to_string(now.open)},
           {"in_use", std::to_string(now.in_use)},
           {"max_size", std::to_string(options().max_size)}});
    };
    event(log_level::debug, "pool.connection_opened", now.created - before.created);
    event(log_level::debug, "pool.connection_retired", now.retired - before.retired);
    event(log_level::warn, "pool.connection_broken", now.broken - before.broken);
    event(log_level::warn, "pool.acquire_timeout", now.timeouts - before.timeouts);
    event(log_level::warn, "pool.connect_failed", now.failed_connects - before.failed_connects);
    event(log_level::info, "pool.rate_limited", now.rate_limited - before.rate_limited);
    if (now.endpoint_index != before.endpoint_index) {
      const bool back = now.endpoint_index == 0;
      const log_level level = back ? log_level::info : log_level::warn;
      if (log_on(level)) {
        log(level, back ? "pool.failback" : "pool.failover",
            {{"from", previous}, {"to", endpoint}});
      }
    }
  } catch (...) {
    // Reporting never changes what the pool does.
  }
}

std::shared_ptr<blocking_pool> blocking_pool::start(pool_options options,
                                                    std::vector<pool_endpoint> endpoints,
                                                    std::unique_ptr<adapter> a) {
  auto p = std::make_shared<blocking_pool>(std::move(options), std::move(endpoints), std::move(a));
  blocking_pool* raw = p.get();
  p->upkeep_ = std::thread([raw] { raw->upkeep_loop(); });
  if (log_on(log_level::info)) {
    std::string names;
    for (const auto& e : p->endpoints_) names += (names.empty() ? "" : ",") + e.name;
    log(log_level::info, "pool.open",
        {{"endpoints", names},
         {"min_size", std::to_string(p->options().min_size)},
         {"max_size", std::to_string(p->options().max_size)}});
  }
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
    } catch (const quota_error&) {
      // A quota is the cluster's answer, not an outage: another endpoint would not be a fix.
      throw;
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
  // Reports on the way out, after the lock is released and the doomed connections are closed.
  // Local to this call, so never shared between threads.
  struct report_on_exit {
    blocking_pool& p;
    ~report_on_exit() { p.report(); }
  } reporter{*this};
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
      } catch (const rate_limited_error& e) {
        lk.lock();
        const auto retry_at = engine_.connect_rate_limited(e.what(), steady::now());
        cv_.notify_all();
        // Hidden from the caller while its timeout allows another try after the backoff.
        if (retry_at >= deadline) throw;
        continue;
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
  bool kept = false;
  {
    doomed_slots doomed;
    std::lock_guard<std::mutex> lk(m_);
    kept = engine_.give_back(std::move(slot), reusable, steady::now(), doomed);
    if (kept) {
      cv_.notify_one();
    } else {
      cv_.notify_all();  // capacity for a new connection, or close() waiting for leases
    }
  }
  if (!kept) report();  // a connection kept changes no counter worth a report
}

void blocking_pool::upkeep_loop() {
  std::unique_lock<std::mutex> lk(m_);
  bool again = false;
  bool rate_limited = false;
  while (!engine_.closed()) {
    if (rate_limited) {
      // Refill as soon as the rate backoff ends: a whole interval would leave the cluster's
      // rate unused.
      upkeep_cv_.wait_until(lk, std::min(steady::now() + engine_.options().upkeep_interval,
                                         engine_.connects_allowed_at()));
    } else if (!again) {
      upkeep_cv_.wait_for(lk, engine_.options().upkeep_interval);
    }
    again = rate_limited = false;
    doomed_slots doomed;
    const auto endpoint = engine_.upkeep(steady::now(), doomed);
    if (!doomed.empty()) {
      cv_.notify_all();  // capacity freed
      lk.unlock();
      doomed.clear();
      report();
      lk.lock();
    }
    if (!endpoint) continue;
    lk.unlock();
    slot_ptr slot;
    std::size_t used = *endpoint;
    std::exception_ptr failure;
    std::string refusal;
    try {
      slot = open_one(*endpoint, used);
    } catch (const rate_limited_error& e) {
      refusal = e.what();
      rate_limited = true;
    } catch (...) {
      failure = std::current_exception();
    }
    lk.lock();
    const auto now = steady::now();
    if (rate_limited) {
      engine_.connect_rate_limited(refusal, now);
    } else if (failure) {
      engine_.connect_failed(failure, now);
    } else if ((slot = engine_.connected(std::move(slot), used, now, doomed))) {
      engine_.give_back(std::move(slot), true, now, doomed);
      again = true;  // refill to min_size without waiting a whole interval
    }
    cv_.notify_all();
    if (!doomed.empty() || observing()) {
      lk.unlock();
      doomed.clear();
      report();
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
  report();
  {
    std::lock_guard<std::mutex> jl(join_m_);
    if (upkeep_.joinable() && upkeep_.get_id() != std::this_thread::get_id()) upkeep_.join();
  }
  std::unique_lock<std::mutex> lk(m_);
  return cv_.wait_for(lk, wait_for_leases,
                      [&] { return engine_.in_use() == 0 && engine_.connecting() == 0; });
}

}  // namespace dsql::detail
