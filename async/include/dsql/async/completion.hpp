#pragma once

/// @file
/// Type-erased, move-only completion handlers, so that the asynchronous operations are compiled
/// once in the library whatever completion token the caller uses (callbacks, use_future,
/// use_awaitable). Asio 1.22 has no any_completion_handler; this is the part of it we need.

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "dsql/async/net.hpp"

namespace dsql::detail {

// Calls a handler once with Args on the handler's associated executor (the operation's I/O
// executor when it has none), keeping that executor's work counted until then. Carries the
// handler's cancellation slot. Not thread-safe.
template <class... Args>
class completion {
 public:
  completion() noexcept = default;
  template <class Handler,
            class = std::enable_if_t<!std::is_same_v<std::decay_t<Handler>, completion>>>
  completion(Handler&& handler, const net::any_io_executor& io_executor)
      : impl_(std::make_unique<model<std::decay_t<Handler>>>(std::forward<Handler>(handler),
                                                             io_executor)) {}

  explicit operator bool() const noexcept { return impl_ != nullptr; }
  net::cancellation_slot cancellation_slot() const noexcept {
    return impl_ ? impl_->slot() : net::cancellation_slot();
  }
  // Runs the handler there, inline when already on it. Call from a handler, never from the
  // function that started the operation, and never from inside a cancellation handler.
  void operator()(Args... args) {
    auto impl = std::move(impl_);
    impl->complete(false, std::move(args)...);
  }
  // Always queues the handler: for an operation that finishes while it is being started.
  void post(Args... args) {
    auto impl = std::move(impl_);
    impl->complete(true, std::move(args)...);
  }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual void complete(bool queue, Args... args) = 0;
    virtual net::cancellation_slot slot() const noexcept = 0;
  };

  template <class H>
  struct model final : concept_t {
    // The handler's own executor type: use_future's, for one, is no I/O executor.
    using work_type = std::decay_t<decltype(net::prefer(
        std::declval<net::associated_executor_t<H, net::any_io_executor>>(),
        net::execution::outstanding_work.tracked))>;

    model(H&& h, const net::any_io_executor& io_executor)
        : handler(std::move(h)),
          work(net::prefer(net::get_associated_executor(handler, io_executor),
                           net::execution::outstanding_work.tracked)) {}
    model(const H& h, const net::any_io_executor& io_executor)
        : handler(h),
          work(net::prefer(net::get_associated_executor(handler, io_executor),
                           net::execution::outstanding_work.tracked)) {}

    void complete(bool queue, Args... args) override {
      // The operation is over: a later emit must not reach its cancellation handler.
      net::get_associated_cancellation_slot(handler).clear();
      auto run = [h = std::move(handler), values = std::make_tuple(std::move(args)...)]() mutable {
        std::apply(std::move(h), std::move(values));
      };
      const work_type ex = work;
      if (queue) {
        net::post(ex, std::move(run));
      } else {
        net::dispatch(ex, std::move(run));
      }
    }
    net::cancellation_slot slot() const noexcept override {
      return net::get_associated_cancellation_slot(handler);
    }

    H handler;
    work_type work;  // outstanding_work.tracked: the context stays alive for us
  };

  std::unique_ptr<concept_t> impl_;
};

// A move-only function object called any number of times (std::function needs copies).
template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
 public:
  unique_function() noexcept = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, unique_function>>>
  unique_function(F&& f) : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}
  explicit operator bool() const noexcept { return impl_ != nullptr; }
  R operator()(Args... args) const { return impl_->call(std::forward<Args>(args)...); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct model final : concept_t {
    explicit model(F&& f) : fn(std::move(f)) {}
    explicit model(const F& f) : fn(f) {}
    R call(Args... args) override { return fn(std::forward<Args>(args)...); }
    F fn;
  };
  std::unique_ptr<concept_t> impl_;
};

}  // namespace dsql::detail
