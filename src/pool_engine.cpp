#include "pool_engine.hpp"

#include <algorithm>
#include <cmath>

#include "pool_endpoints.hpp"

namespace dsql {
namespace detail {
namespace {

// A connection given back this recently was checked on return; skipping the socket check keeps
// a hot acquire/release cycle free of system calls.
constexpr auto socket_check_after = std::chrono::milliseconds(1);

}  // namespace

pool_engine::pool_engine(pool_options options, std::size_t endpoint_count, std::uint64_t seed)
    : opts_(std::move(options)),
      endpoint_count_(std::max<std::size_t>(endpoint_count, 1)),
      rng_(seed) {}

bool pool_engine::may_connect(steady::time_point now) const noexcept {
  return open() + connecting_ < opts_.max_size && connecting_ < opts_.max_concurrent_connects &&
         now >= next_connect_at_;
}

std::size_t pool_engine::first_endpoint(steady::time_point now) const noexcept {
  if (current_ != 0 && now - switched_at_ >= opts_.failback_after) return 0;
  return current_;
}

steady::time_point pool_engine::expiry(steady::time_point created) {
  const auto life = std::chrono::duration_cast<steady::duration>(opts_.max_lifetime);
  if (opts_.max_lifetime_jitter <= 0.0) return created + life;
  std::uniform_real_distribution<double> share(0.0, opts_.max_lifetime_jitter);
  const auto cut = std::chrono::duration_cast<steady::duration>(
      std::chrono::duration<double>(std::chrono::duration<double>(life).count() * share(rng_)));
  return created + life - cut;
}

pool_engine::step pool_engine::next(steady::time_point now, doomed_slots& doomed,
                                    bool allow_connect) {
  if (closed_) throw pool_closed_error("the pool is closed");
  step s;
  while (!idle_.empty()) {
    slot_ptr slot = std::move(idle_.back());
    idle_.pop_back();
    if (now >= slot->expires) {
      ++counters_.retired;
      doomed.push_back(std::move(slot));
      continue;
    }
    ++in_use_;  // while it is checked, nobody else may count its place as free
    const auto idle_for = now - slot->last_used;
    if (idle_for >= socket_check_after) {
      s.check = idle_for >= opts_.validate_idle_after ? check_level::query : check_level::socket;
    }
    s.kind = step::use;
    s.slot = std::move(slot);
    return s;
  }
  if (allow_connect && may_connect(now)) {
    ++connecting_;
    s.kind = step::connect;
    s.endpoint = first_endpoint(now);
    return s;
  }
  if (next_connect_at_ > now) s.wake_at = next_connect_at_;
  return s;
}

void pool_engine::discard(slot_ptr slot, bool broken, doomed_slots& doomed) {
  --in_use_;
  ++(broken ? counters_.broken : counters_.retired);
  doomed.push_back(std::move(slot));
}

void pool_engine::connect_failed(const std::exception_ptr& error, steady::time_point now) {
  --connecting_;
  ++counters_.failed_connects;
  ++failures_;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    last_connect_error_ = e.what();
  } catch (...) {
    last_connect_error_ = "unknown error";
  }
  next_connect_at_ = now + backoff(opts_.connect_backoff_max, failures_);
}

steady::time_point pool_engine::connect_rate_limited(const std::string& what,
                                                     steady::time_point now) {
  --connecting_;
  ++counters_.rate_limited;
  ++rate_refusals_;
  last_connect_error_ = what;
  next_connect_at_ =
      std::max(next_connect_at_,
               now + backoff(std::min(opts_.rate_limit_backoff_max, opts_.connect_backoff_max),
                             rate_refusals_));
  return next_connect_at_;
}

steady::duration pool_engine::backoff(std::chrono::milliseconds cap, unsigned count) {
  // initial * 2^(count-1), capped, half of it random: pools recovering from one outage (or
  // refused by one rate limit) spread out instead of reconnecting in step.
  const double base = static_cast<double>(opts_.connect_backoff_initial.count()) *
                      std::pow(2.0, static_cast<double>(std::min(count - 1, 30u)));
  const double capped = std::min(base, static_cast<double>(cap.count()));
  std::uniform_real_distribution<double> half(0.5, 1.0);
  return std::chrono::duration_cast<steady::duration>(
      std::chrono::duration<double, std::milli>(capped * half(rng_)));
}

slot_ptr pool_engine::connected(slot_ptr slot, std::size_t endpoint, steady::time_point now,
                                doomed_slots& doomed) {
  --connecting_;
  failures_ = 0;
  rate_refusals_ = 0;
  next_connect_at_ = {};
  ++counters_.created;
  if (endpoint != current_) {
    current_ = endpoint;
    switched_at_ = now;
  }
  slot->created = slot->last_used = now;
  slot->expires = expiry(now);
  if (closed_) {
    ++counters_.retired;
    doomed.push_back(std::move(slot));
    return nullptr;
  }
  ++in_use_;
  return slot;
}

bool pool_engine::give_back(slot_ptr slot, bool reusable, steady::time_point now,
                            doomed_slots& doomed) {
  --in_use_;
  if (reusable && !closed_ && now < slot->expires) {
    slot->last_used = now;
    idle_.push_back(std::move(slot));
    return true;
  }
  ++(reusable ? counters_.retired : counters_.broken);
  doomed.push_back(std::move(slot));
  return false;
}

void pool_engine::retire_idle(steady::time_point now, doomed_slots& doomed) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    const bool expired = now >= (*it)->expires;
    const bool stale =
        now - (*it)->last_used >= opts_.idle_timeout && open() + connecting_ > opts_.min_size;
    if (expired || stale) {
      doomed.push_back(std::move(*it));
      it = idle_.erase(it);
      ++counters_.retired;
    } else {
      ++it;
    }
  }
}

std::optional<std::size_t> pool_engine::upkeep(steady::time_point now, doomed_slots& doomed) {
  if (closed_) return std::nullopt;
  retire_idle(now, doomed);
  if (open() + connecting_ < opts_.min_size && may_connect(now)) {
    ++connecting_;
    return first_endpoint(now);
  }
  return std::nullopt;
}

void pool_engine::close(doomed_slots& doomed) {
  if (closed_) return;
  closed_ = true;
  counters_.retired += idle_.size();
  for (auto& slot : idle_) doomed.push_back(std::move(slot));
  idle_.clear();
}

std::string pool_engine::timed_out(std::chrono::milliseconds timeout) {
  ++counters_.timeouts;
  std::string message = "acquire timed out after " + std::to_string(timeout.count()) +
                        " ms: " + std::to_string(in_use_) + " of " +
                        std::to_string(opts_.max_size) + " connections in use";
  if (failures_ > 0 || rate_refusals_ > 0) {
    message += "; last connect failure: " + last_connect_error_;
  }
  return message;
}

pool_stats pool_engine::stats() const {
  pool_stats out = counters_;
  out.idle = idle_.size();
  out.in_use = in_use_;
  out.open = open();
  out.connecting = connecting_;
  out.endpoint_index = current_;
  return out;
}

bool failover_walk::failed(const std::string& endpoint_name, const std::string& what) {
  failures_ += (failures_.empty() ? "" : "; ") + endpoint_name + ": " + what;
  return ++tried_ < count_;
}

connection_error failover_walk::error() const {
  return connection_error("no endpoint accepted a connection: " + failures_);
}

}  // namespace detail

void validate(const pool_options& o) {
  using std::chrono::milliseconds;
  if (o.max_size == 0) throw config_error("pool_options.max_size must be at least 1");
  if (o.min_size > o.max_size) {
    throw config_error("pool_options.min_size (" + std::to_string(o.min_size) +
                       ") must not exceed max_size (" + std::to_string(o.max_size) + ")");
  }
  const auto positive = [](milliseconds v, const char* name) {
    if (v <= milliseconds(0)) {
      throw config_error(std::string("pool_options.") + name + " must be positive");
    }
  };
  positive(o.acquire_timeout, "acquire_timeout");
  positive(o.max_lifetime, "max_lifetime");
  positive(o.idle_timeout, "idle_timeout");
  positive(o.connect_backoff_initial, "connect_backoff_initial");
  positive(o.upkeep_interval, "upkeep_interval");
  positive(o.failback_after, "failback_after");
  positive(o.rate_limit_backoff_max, "rate_limit_backoff_max");
  if (o.validate_idle_after < milliseconds(0)) {
    throw config_error("pool_options.validate_idle_after must not be negative");
  }
  if (o.connect_backoff_max < o.connect_backoff_initial) {
    throw config_error(
        "pool_options.connect_backoff_max must not be below connect_backoff_initial");
  }
  if (!(o.max_lifetime_jitter >= 0.0 && o.max_lifetime_jitter < 1.0)) {
    throw config_error("pool_options.max_lifetime_jitter must be at least 0 and below 1");
  }
  if (o.max_concurrent_connects == 0) {
    throw config_error("pool_options.max_concurrent_connects must be at least 1");
  }
  if (!(o.token_reuse_fraction >= 0.0 && o.token_reuse_fraction < 1.0)) {
    throw config_error("pool_options.token_reuse_fraction must be at least 0 and below 1");
  }
  for (const auto& e : o.endpoints) parse_host_port(e, detail::endpoints_where);
}

}  // namespace dsql
