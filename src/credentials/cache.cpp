#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>

#include "dsql/credentials.hpp"
#include "dsql/errors.hpp"
#include "observe.hpp"
#include "util/time_format.hpp"

namespace dsql {

namespace {

using clock_fn = std::function<std::chrono::system_clock::time_point()>;

class caching_provider final : public credentials_provider {
 public:
  caching_provider(std::shared_ptr<credentials_provider> inner, std::chrono::seconds early,
                   clock_fn clock)
      : inner_(std::move(inner)), early_(early), clock_(std::move(clock)) {
    if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
  }

  credentials resolve() override {
    std::unique_lock<std::mutex> lock(mutex_);
    if (cached_ && !needs_refresh(*cached_, clock_())) return *cached_;

    if (refreshing_) {
      // Someone else is refreshing: still-valid credentials are good enough for now.
      if (cached_ && usable(*cached_, clock_())) return *cached_;
      const std::uint64_t seen = generation_;
      refreshed_.wait(lock, [&] { return generation_ != seen; });
      if (!last_error_) return *cached_;
      if (cached_ && usable(*cached_, clock_())) return *cached_;
      std::rethrow_exception(last_error_);
    }

    refreshing_ = true;
    lock.unlock();
    // Outside the lock: a refresh may run a process or (later) make HTTP calls for seconds.
    std::optional<credentials> fresh;
    std::exception_ptr error;
    try {
      fresh = inner_->resolve();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    refreshing_ = false;
    ++generation_;
    last_error_ = error;
    if (fresh) cached_ = *fresh;
    refreshed_.notify_all();
    if (fresh) {
      lock.unlock();
      report(*fresh);
      return *fresh;
    }
    if (cached_ && usable(*cached_, clock_())) return *cached_;
    std::rethrow_exception(error);
  }

  std::string name() const override { return inner_->name(); }

 private:
  // Which source and until when; never a key. Once per refresh, not per token.
  static void report(const credentials& c) {
    if (!detail::log_on(log_level::info)) return;
    detail::log(log_level::info, "credentials.resolved",
                {{"source", c.source},
                 {"expires_at", c.expiration ? util::format_iso8601(*c.expiration) : "never"}});
  }

  bool usable(const credentials& c, std::chrono::system_clock::time_point now) const {
    return !c.expiration || *c.expiration > now;
  }
  bool needs_refresh(const credentials& c, std::chrono::system_clock::time_point now) const {
    // now + early_ rather than expiration - early_: a provider may hand out any time point.
    return c.expiration && *c.expiration <= now + early_;
  }

  std::shared_ptr<credentials_provider> inner_;
  std::chrono::seconds early_;
  clock_fn clock_;

  std::mutex mutex_;
  std::condition_variable refreshed_;
  std::optional<credentials> cached_;
  bool refreshing_ = false;
  std::uint64_t generation_ = 0;   // completed refreshes; waiters wake when it moves
  std::exception_ptr last_error_;  // outcome of the latest refresh
};

}  // namespace

std::shared_ptr<credentials_provider> make_caching_provider(
    std::shared_ptr<credentials_provider> inner, std::chrono::seconds refresh_before_expiry,
    std::function<std::chrono::system_clock::time_point()> clock) {
  if (!inner) throw config_error("make_caching_provider: the inner provider is null");
  if (refresh_before_expiry.count() < 0) {
    throw config_error("make_caching_provider: refresh_before_expiry must not be negative");
  }
  return std::make_shared<caching_provider>(std::move(inner), refresh_before_expiry,
                                            std::move(clock));
}

}  // namespace dsql
