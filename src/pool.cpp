#include "dsql/pool.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

namespace dsql {
namespace detail {
namespace {

using steady = std::chrono::steady_clock;

// A connection given back this recently was checked on return; skipping the socket check keeps
// a hot acquire/release cycle free of system calls.
constexpr auto socket_check_after = std::chrono::milliseconds(1);

std::string current_message() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

// The connection is usable as far as can be told without a round trip. Anything that arrived
// unasked on an idle connection is a notice, a parameter change or the server's goodbye; reading
// it tells them apart, and the second round catches an EOF that followed a FATAL message.
bool socket_alive(PGconn* c) {
  if (c == nullptr || PQstatus(c) != CONNECTION_OK) return false;
  if (PQtransactionStatus(c) != PQTRANS_IDLE) return false;
  for (int round = 0; round < 2; ++round) {
    const int fd = PQsocket(c);
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, 0);
    if (rc == 0) return true;
    if (rc < 0) return errno == EINTR;
    if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return false;
    if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) return false;
  }
  return PQstatus(c) == CONNECTION_OK;
}

bool query_alive(connection& c) {
  try {
    c.exec("SELECT 1");
    return PQtransactionStatus(c.raw()) == PQTRANS_IDLE;
  } catch (...) {
    return false;
  }
}

struct endpoint_spec {
  std::string host;
  std::uint16_t port = 0;  // 0: config.port
};

// "host", "host:port", "[v6]:port" or a bare IPv6 address.
endpoint_spec parse_endpoint(const std::string& text) {
  if (text.empty()) throw config_error("pool_options.endpoints: an endpoint is empty");
  endpoint_spec spec;
  std::string port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) {
      throw config_error("pool_options.endpoints: '" + text + "' has no closing ']'");
    }
    spec.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        throw config_error("pool_options.endpoints: expected ':' after ']' in '" + text + "'");
      }
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    spec.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  } else {
    spec.host = text;
  }
  if (spec.host.empty()) throw config_error("pool_options.endpoints: '" + text + "' has no host");
  if (!port.empty() || (text.back() == ':')) {
    const bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    const long value = digits ? std::stol(port) : 0;
    if (value < 1 || value > 65535) {
      throw config_error("pool_options.endpoints: the port in '" + text +
                         "' must be between 1 and 65535");
    }
    spec.port = static_cast<std::uint16_t>(value);
  }
  return spec;
}

}  // namespace

struct pool_slot {
  connection conn;
  steady::time_point created{};
  steady::time_point expires{};
  steady::time_point last_used{};
};

struct pool_state {
  struct endpoint {
    std::string name;  // host:port, for messages and current_endpoint()
    std::unique_ptr<connector> conn;
  };

  pool_options opts;
  std::vector<endpoint> endpoints;

  mutable std::mutex m;
  std::condition_variable cv;                    // a connection, capacity or the end of a backoff
  std::condition_variable upkeep_cv;             // wakes the upkeep thread at close
  std::vector<std::unique_ptr<pool_slot>> idle;  // back() was given back last
  std::size_t in_use = 0;
  std::size_t connecting = 0;
  bool closed = false;
  pool_stats counters;

  std::size_t current = 0;
  steady::time_point switched_at{};
  unsigned failures = 0;  // consecutive failed connects
  steady::time_point next_connect_at{};
  std::string last_connect_error;
  std::mt19937_64 rng{std::random_device{}()};

  std::mutex join_m;
  std::thread upkeep;

  std::size_t open() const { return idle.size() + in_use; }

  bool may_connect(steady::time_point now) const {
    return open() + connecting < opts.max_size && connecting < opts.max_concurrent_connects &&
           now >= next_connect_at;
  }

  // Under the lock.
  std::size_t first_endpoint(steady::time_point now) const {
    if (current != 0 && now - switched_at >= opts.failback_after) return 0;
    return current;
  }

  // Under the lock.
  steady::time_point expiry(steady::time_point created) {
    const auto life = std::chrono::duration_cast<steady::duration>(opts.max_lifetime);
    if (opts.max_lifetime_jitter <= 0.0) return created + life;
    std::uniform_real_distribution<double> share(0.0, opts.max_lifetime_jitter);
    const auto cut = std::chrono::duration_cast<steady::duration>(
        std::chrono::duration<double>(std::chrono::duration<double>(life).count() * share(rng)));
    return created + life - cut;
  }

  // Under the lock.
  void connect_failed(const std::string& message, steady::time_point now) {
    ++counters.failed_connects;
    ++failures;
    last_connect_error = message;
    const double base = static_cast<double>(opts.connect_backoff_initial.count()) *
                        std::pow(2.0, static_cast<double>(std::min(failures - 1, 30u)));
    const double capped = std::min(base, static_cast<double>(opts.connect_backoff_max.count()));
    std::uniform_real_distribution<double> half(0.5, 1.0);
    next_connect_at = now + std::chrono::duration_cast<steady::duration>(
                                std::chrono::duration<double, std::milli>(capped * half(rng)));
  }

  // Under the lock.
  void connect_succeeded(std::size_t index, steady::time_point now) {
    failures = 0;
    next_connect_at = {};
    ++counters.created;
    if (index != current) {
      current = index;
      switched_at = now;
    }
  }

  // Without the lock. Tries the endpoints in order from `start`; a refused or failed connect
  // moves on to the next, anything else (credentials, configuration) would fail everywhere.
  std::unique_ptr<pool_slot> open_one(std::size_t start, std::size_t& used) {
    std::string failures_text;
    std::exception_ptr only;
    for (std::size_t k = 0; k < endpoints.size(); ++k) {
      const std::size_t i = (start + k) % endpoints.size();
      try {
        auto slot = std::make_unique<pool_slot>();
        slot->conn = endpoints[i].conn->connect();
        used = i;
        run_hook(slot);
        return slot;
      } catch (const connection_error& e) {
        if (endpoints.size() == 1) throw;
        failures_text += (failures_text.empty() ? "" : "; ") + endpoints[i].name + ": " + e.what();
      }
    }
    throw connection_error("no endpoint accepted a connection: " + failures_text);
  }

  // The hook runs before anyone can see the connection; if it throws, the connection is closed
  // by the slot's destructor during unwinding and the caller sees the hook's exception.
  void run_hook(std::unique_ptr<pool_slot>& slot) {
    if (opts.after_connect) opts.after_connect(slot->conn);
  }

  // Under the lock; returns slots to close after unlocking.
  void retire_idle(steady::time_point now, std::vector<std::unique_ptr<pool_slot>>& doomed) {
    for (auto it = idle.begin(); it != idle.end();) {
      const bool expired = now >= (*it)->expires;
      const bool stale =
          now - (*it)->last_used >= opts.idle_timeout && open() + connecting > opts.min_size;
      if (expired || stale) {
        doomed.push_back(std::move(*it));
        it = idle.erase(it);
        ++counters.retired;
      } else {
        ++it;
      }
    }
  }

  void upkeep_loop() {
    std::unique_lock<std::mutex> lk(m);
    bool again = false;
    while (!closed) {
      if (!again) upkeep_cv.wait_for(lk, opts.upkeep_interval);
      again = false;
      if (closed) break;
      auto now = steady::now();
      std::vector<std::unique_ptr<pool_slot>> doomed;
      retire_idle(now, doomed);
      if (!doomed.empty()) {
        cv.notify_all();  // capacity freed
        lk.unlock();
        doomed.clear();
        lk.lock();
        if (closed) break;
        now = steady::now();
      }
      if (open() + connecting < opts.min_size && may_connect(now)) {
        ++connecting;
        const std::size_t start = first_endpoint(now);
        lk.unlock();
        std::unique_ptr<pool_slot> slot;
        std::size_t used = start;
        std::string failure;
        try {
          slot = open_one(start, used);
        } catch (...) {
          failure = current_message();
        }
        lk.lock();
        --connecting;
        now = steady::now();
        if (!slot) {
          connect_failed(failure, now);
        } else {
          connect_succeeded(used, now);
          if (!closed) {
            slot->created = slot->last_used = now;
            slot->expires = expiry(now);
            idle.push_back(std::move(slot));
            again = true;
          }
        }
        cv.notify_all();
        if (slot) {
          lk.unlock();
          slot.reset();
          lk.lock();
        }
      }
    }
  }

  void give_back(std::unique_ptr<pool_slot> slot, bool broken) noexcept {
    bool keep = !broken && slot->conn.is_open();
    if (keep) {
      const auto ts = PQtransactionStatus(slot->conn.raw());
      if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        // The holder left a transaction open (or failed): end it here so that the next holder
        // starts clean; a connection that cannot even roll back is not worth keeping.
        try {
          slot->conn.exec("ROLLBACK");
          keep = PQtransactionStatus(slot->conn.raw()) == PQTRANS_IDLE;
        } catch (...) {
          keep = false;
        }
      } else if (ts != PQTRANS_IDLE) {
        keep = false;  // a command still in flight: the protocol state is unknown
      }
    }
    const auto now = steady::now();
    std::unique_lock<std::mutex> lk(m);
    --in_use;
    if (keep && !closed && now < slot->expires) {
      slot->last_used = now;
      idle.push_back(std::move(slot));
      cv.notify_one();
      return;
    }
    if (keep) {
      ++counters.retired;
    } else {
      ++counters.broken;
    }
    cv.notify_all();  // capacity for a new connection, or close() waiting for leases
    lk.unlock();
    slot.reset();
  }
};

}  // namespace detail

using detail::pool_slot;
using detail::pool_state;
using steady = std::chrono::steady_clock;

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
  for (const auto& e : o.endpoints) detail::parse_endpoint(e);
}

// ---- lease ----

lease::lease() noexcept = default;

lease::lease(std::shared_ptr<pool_state> pool, std::unique_ptr<pool_slot> slot) noexcept
    : pool_(std::move(pool)), slot_(std::move(slot)) {}

lease::~lease() {
  give_back(false);
}

lease::lease(lease&& other) noexcept = default;

lease& lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    give_back(false);
    pool_ = std::move(other.pool_);
    slot_ = std::move(other.slot_);
  }
  return *this;
}

connection& lease::get() const {
  if (!slot_) {
    throw lease_error("this lease holds no connection: it was released, discarded or moved from");
  }
  return slot_->conn;
}

void lease::release() noexcept {
  give_back(false);
}

void lease::release_broken() noexcept {
  give_back(true);
}

void lease::give_back(bool broken) noexcept {
  if (!slot_) return;
  auto pool = std::move(pool_);
  pool->give_back(std::move(slot_), broken);
}

// ---- pool ----

pool::pool(const config& cfg, pool_options options) {
  validate(options);
  auto s = std::make_shared<pool_state>();
  s->opts = std::move(options);
  connector::options copts;
  copts.token_reuse_fraction = s->opts.token_reuse_fraction;
  if (s->opts.endpoints.empty()) {
    auto c = std::make_unique<connector>(cfg, copts);
    std::string name = c->settings().endpoint + ":" + std::to_string(c->settings().port);
    s->endpoints.push_back({std::move(name), std::move(c)});
  } else {
    for (const auto& text : s->opts.endpoints) {
      const auto spec = detail::parse_endpoint(text);
      config peer = cfg;
      peer.host = spec.host;
      if (spec.port != 0) peer.port = spec.port;
      // Both are tied to one host: each peer is signed for and connects to its own name.
      peer.token_host.clear();
      peer.hostaddr.clear();
      auto c = std::make_unique<connector>(peer, copts);
      std::string name = c->settings().endpoint + ":" + std::to_string(c->settings().port);
      s->endpoints.push_back({std::move(name), std::move(c)});
    }
  }
  state_ = std::move(s);
  pool_state* raw = state_.get();
  state_->upkeep = std::thread([raw] { raw->upkeep_loop(); });
}

pool::~pool() {
  close();
}

const pool_options& pool::options() const noexcept {
  return state_->opts;
}

lease pool::acquire() {
  return acquire(state_->opts.acquire_timeout);
}

lease pool::acquire(std::chrono::milliseconds timeout) {
  if (timeout <= std::chrono::milliseconds(0)) {
    throw config_error("acquire: the timeout must be positive");
  }
  pool_state& s = *state_;
  const auto deadline = steady::now() + timeout;
  // Declared before the lock so that connections are closed after it is released.
  std::vector<std::unique_ptr<pool_slot>> doomed;
  std::unique_lock<std::mutex> lk(s.m);
  ++s.counters.acquires;
  bool waited = false;
  for (;;) {
    if (s.closed) throw pool_closed_error("the pool is closed");
    auto now = steady::now();
    if (!s.idle.empty()) {
      auto slot = std::move(s.idle.back());
      s.idle.pop_back();
      if (now >= slot->expires) {
        ++s.counters.retired;
        doomed.push_back(std::move(slot));
        s.cv.notify_all();
        continue;
      }
      ++s.in_use;  // while it is checked, nobody else may count its place as free
      const auto idle_for = now - slot->last_used;
      if (idle_for >= detail::socket_check_after) {
        lk.unlock();
        bool ok = detail::socket_alive(slot->conn.raw());
        if (ok && idle_for >= s.opts.validate_idle_after) ok = detail::query_alive(slot->conn);
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
    if (s.may_connect(now)) {
      ++s.connecting;
      const std::size_t start = s.first_endpoint(now);
      lk.unlock();
      std::unique_ptr<pool_slot> slot;
      std::size_t used = start;
      try {
        slot = s.open_one(start, used);
      } catch (...) {
        const std::string message = detail::current_message();
        lk.lock();
        --s.connecting;
        s.connect_failed(message, steady::now());
        s.cv.notify_all();
        throw;
      }
      lk.lock();
      --s.connecting;
      now = steady::now();
      s.connect_succeeded(used, now);
      slot->created = slot->last_used = now;
      slot->expires = s.expiry(now);
      if (s.closed) {
        doomed.push_back(std::move(slot));
        s.cv.notify_all();
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
      std::string message = "acquire timed out after " + std::to_string(timeout.count()) +
                            " ms: " + std::to_string(s.in_use) + " of " +
                            std::to_string(s.opts.max_size) + " connections in use";
      if (s.failures > 0) message += "; last connect failure: " + s.last_connect_error;
      throw pool_timeout_error(message);
    }
    auto until = deadline;
    if (s.next_connect_at > now && s.next_connect_at < until) until = s.next_connect_at;
    s.cv.wait_until(lk, until);
  }
}

pool_stats pool::stats() const {
  const pool_state& s = *state_;
  std::lock_guard<std::mutex> lk(s.m);
  pool_stats out = s.counters;
  out.idle = s.idle.size();
  out.in_use = s.in_use;
  out.open = s.open();
  out.connecting = s.connecting;
  out.endpoint_index = s.current;
  return out;
}

std::string pool::current_endpoint() const {
  std::lock_guard<std::mutex> lk(state_->m);
  return state_->endpoints[state_->current].name;
}

bool pool::closed() const {
  std::lock_guard<std::mutex> lk(state_->m);
  return state_->closed;
}

bool pool::close(std::chrono::milliseconds wait_for_leases) {
  pool_state& s = *state_;
  std::vector<std::unique_ptr<pool_slot>> doomed;
  {
    std::lock_guard<std::mutex> lk(s.m);
    if (!s.closed) {
      s.closed = true;
      s.counters.retired += s.idle.size();
      doomed = std::move(s.idle);
      s.idle.clear();
    }
    s.cv.notify_all();
    s.upkeep_cv.notify_all();
  }
  doomed.clear();
  {
    std::lock_guard<std::mutex> jl(s.join_m);
    if (s.upkeep.joinable() && s.upkeep.get_id() != std::this_thread::get_id()) s.upkeep.join();
  }
  std::unique_lock<std::mutex> lk(s.m);
  return s.cv.wait_for(lk, wait_for_leases, [&] { return s.in_use == 0 && s.connecting == 0; });
}

}  // namespace dsql
