#pragma once

/// @file
/// Optimistic-concurrency retry for asynchronous code, with dsql::run_transaction's semantics:
/// every attempt takes a fresh lease from the pool and runs BEGIN, the body, COMMIT; a conflict
/// (40001 with OC000 or OC001, or plain 40001 per retry_options) rolls back and runs again after
/// a backoff with jitter, waited on an Asio timer; any other error surfaces at once, after the
/// rollback. The body must be safe to run more than once.

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "dsql/async/completion.hpp"
#include "dsql/async/connection.hpp"
#include "dsql/async/net.hpp"
#include "dsql/async/pool.hpp"
#include "dsql/retry.hpp"

namespace dsql {

/// Given to a callback-style body: call it once when the body is done, with nullptr to commit or
/// with the exception that failed the attempt. Dropped uncalled, it fails the attempt with a
/// dsql::error. Move-only; not thread-safe.
class transaction_done {
 public:
  /// For the library's own use: `fn` receives the body's outcome.
  explicit transaction_done(detail::unique_function<void(std::exception_ptr)> fn) noexcept
      : fn_(std::move(fn)) {}
  /// Takes over the other's call; the other then does nothing.
  transaction_done(transaction_done&& other) noexcept = default;
  transaction_done& operator=(transaction_done&&) = delete;
  /// Fails the attempt with a dsql::error if it was never called.
  ~transaction_done();
  /// Reports the body's outcome: nullptr commits, an exception fails the attempt. Only the first
  /// call counts.
  void operator()(std::exception_ptr error = nullptr);

 private:
  detail::unique_function<void(std::exception_ptr)> fn_;
};

namespace detail {

// One attempt's body: runs on the lease's connection, reports through `done`, and receives the
// transaction's cancellation through `slot`.
using transaction_body =
    unique_function<void(async_connection&, transaction_done, net::cancellation_slot)>;

void start_transaction(async_pool& pool, transaction_body body, const retry_options& options,
                       completion<std::exception_ptr> done);

template <class Fn>
constexpr bool is_callback_body = std::is_invocable_v<Fn&, async_connection&, transaction_done>;

template <class Token, class Fn>
auto run_callback_transaction(async_pool& pool, Fn fn, const retry_options& options, Token& token) {
  return net::async_initiate<Token, void(std::exception_ptr)>(
      [](auto handler, async_pool* p, Fn f, retry_options o) {
        transaction_body body = [f = std::move(f)](async_connection& c, transaction_done done,
                                                   net::cancellation_slot) mutable {
          f(c, std::move(done));
        };
        start_transaction(*p, std::move(body), o,
                          completion<std::exception_ptr>(std::move(handler), p->get_executor()));
      },
      token, &pool, std::move(fn), options);
}

#if defined(DSQL_ASYNC_HAS_COROUTINES)

template <class A>
struct awaitable_value;
template <class T, class E>
struct awaitable_value<net::awaitable<T, E>> {
  using type = T;
};

template <class T>
struct transaction_signature {
  using type = void(std::exception_ptr, T);
};
template <>
struct transaction_signature<void> {
  using type = void(std::exception_ptr);
};

// The caller's handler, given the body's value once the transaction committed. Keeps the
// handler's executor and cancellation slot.
template <class Handler, class T>
struct value_handler {
  using executor_type = net::associated_executor_t<Handler, net::any_io_executor>;

  Handler handler;
  std::shared_ptr<std::optional<T>> value;
  executor_type executor;

  executor_type get_executor() const noexcept { return executor; }
  using cancellation_slot_type = net::associated_cancellation_slot_t<Handler>;
  cancellation_slot_type get_cancellation_slot() const noexcept {
    return net::get_associated_cancellation_slot(handler);
  }
  void operator()(std::exception_ptr e) {
    if (e || !*value) {
      std::move(handler)(e, T{});
    } else {
      std::move(handler)(nullptr, std::move(**value));
    }
  }
};

template <class Token, class Fn>
auto run_awaitable_transaction(async_pool& pool, Fn fn, const retry_options& options,
                               Token& token) {
  using T = typename awaitable_value<std::invoke_result_t<Fn&, async_connection&>>::type;
  constexpr bool is_void = std::is_void_v<T>;
  using signature = typename transaction_signature<T>::type;
  using box = std::conditional_t<is_void, std::optional<int>, std::optional<T>>;
  return net::async_initiate<Token, signature>(
      [](auto handler, async_pool* p, Fn f, retry_options o) {
        // The body runs where the caller runs (its coroutine's executor, with use_awaitable),
        // unless that is no I/O executor (use_future's): then on the pool's.
        const auto caller = net::get_associated_executor(handler, p->get_executor());
        net::any_io_executor ex = p->get_executor();
        if constexpr (std::is_convertible_v<decltype(caller), net::any_io_executor>) ex = caller;
        auto value = std::make_shared<box>();
        transaction_body body = [f = std::move(f), value, ex](async_connection& c,
                                                              transaction_done done,
                                                              net::cancellation_slot slot) mutable {
          net::co_spawn(
              ex, f(c),
              net::bind_cancellation_slot(
                  slot, [value, done = std::move(done)](std::exception_ptr e, auto&&... v) mutable {
                    if constexpr (sizeof...(v) > 0) {
                      if (!e) value->emplace(std::forward<decltype(v)>(v)...);
                    }
                    done(e);
                  }));
        };
        if constexpr (is_void) {
          start_transaction(*p, std::move(body), o,
                            completion<std::exception_ptr>(std::move(handler), ex));
        } else {
          start_transaction(
              *p, std::move(body), o,
              completion<std::exception_ptr>(
                  value_handler<decltype(handler), T>{std::move(handler), value, caller}, ex));
        }
      },
      token, &pool, std::move(fn), options);
}

#endif

}  // namespace detail

/// Runs fn as one transaction on a lease from `pool`, retried on OCC conflicts per `options`.
///
/// - C++20: fn(async_connection&) returns net::awaitable<T>; completes with
///   (std::exception_ptr, T), or (std::exception_ptr) for awaitable<void>. T must be
///   default-constructible, as with net::co_spawn.
/// - C++17: fn(async_connection&, transaction_done) starts the body's operations and calls
///   done(nullptr) or done(error) when they end; completes with (std::exception_ptr).
///
/// Completes with occ_conflict_error when the attempts or the time budget ran out, with the
/// body's or the server's error when it is not a conflict, and with cancelled_error when
/// cancelled (the current attempt is rolled back).
template <class Fn, class Token>
auto async_run_transaction(async_pool& pool, Fn fn, const retry_options& options, Token&& token) {
  if constexpr (detail::is_callback_body<Fn>) {
    return detail::run_callback_transaction(pool, std::move(fn), options, token);
  } else {
#if defined(DSQL_ASYNC_HAS_COROUTINES)
    return detail::run_awaitable_transaction(pool, std::move(fn), options, token);
#else
    static_assert(detail::is_callback_body<Fn>,
                  "without C++20 coroutines the body is fn(async_connection&, transaction_done)");
#endif
  }
}

/// async_run_transaction with default retry_options.
template <class Fn, class Token>
auto async_run_transaction(async_pool& pool, Fn fn, Token&& token) {
  return async_run_transaction(pool, std::move(fn), retry_options{}, std::forward<Token>(token));
}

}  // namespace dsql
