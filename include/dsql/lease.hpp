#pragma once

/// @file
/// Exclusive use of one pooled connection, for every pool: dsql::pool, dsql::pqxx_pool,
/// dsql::soci_pool and dsql::async_pool each hand out a basic_lease over their own connection
/// type.

#include <chrono>
#include <memory>
#include <type_traits>
#include <utility>

#include "dsql/errors.hpp"

namespace dsql {

namespace detail {

// One pooled connection as the pool engine sees it; each adapter's slot holds its connection.
struct pooled_slot {
  virtual ~pooled_slot() = default;
  std::chrono::steady_clock::time_point created{};
  std::chrono::steady_clock::time_point expires{};
  std::chrono::steady_clock::time_point last_used{};
};

template <class Held>
struct slot_of final : pooled_slot {
  template <class... Args>
  explicit slot_of(Args&&... args) : conn(std::forward<Args>(args)...) {}
  Held conn;
};

// The pool a lease gives its connection back to. Thread-safe: leases end on any thread.
class slot_owner {
 public:
  virtual void give_back(std::unique_ptr<pooled_slot> slot, bool broken) noexcept = 0;

 protected:
  ~slot_owner() = default;
};

template <class T>
struct is_unique_ptr : std::false_type {};
template <class T>
struct is_unique_ptr<std::unique_ptr<T>> : std::true_type {};

}  // namespace detail

/// Exclusive use of one pooled connection of type `Conn`: the base of dsql::lease,
/// dsql::pqxx_pool::lease, dsql::soci_pool::lease and dsql::async_lease.
/// Move-only; gives the connection back when destroyed. `Held` is what the slot stores: the
/// connection itself, or a unique_ptr to it for types that cannot move (pqxx::connection).
/// Not thread-safe: one lease is used by one thread (or task) at a time.
template <class Conn, class Held = Conn>
class basic_lease {
 public:
  /// A lease that holds no connection: false; get() throws lease_error.
  basic_lease() noexcept = default;
  /// For the pools' use: a lease on `slot`, which goes back to `owner` when the lease ends.
  basic_lease(std::shared_ptr<detail::slot_owner> owner,
              std::unique_ptr<detail::pooled_slot> slot) noexcept
      : owner_(std::move(owner)), slot_(std::move(slot)) {}
  /// Gives the connection back to its pool, as release() does.
  ~basic_lease() { give_back(false); }
  /// Takes the other's connection, leaving it holding none.
  basic_lease(basic_lease&& other) noexcept = default;
  /// Gives this lease's connection back, then takes the other's, leaving it holding none.
  basic_lease& operator=(basic_lease&& other) noexcept {
    if (this != &other) {
      give_back(false);
      owner_ = std::move(other.owner_);
      slot_ = std::move(other.slot_);
    }
    return *this;
  }
  basic_lease(const basic_lease&) = delete;
  basic_lease& operator=(const basic_lease&) = delete;

  /// The connection. Throws lease_error when the lease no longer holds a connection.
  Conn& get() const {
    if (!slot_) {
      throw lease_error("this lease holds no connection: it was released, discarded or moved from");
    }
    Held& held = static_cast<detail::slot_of<Held>&>(*slot_).conn;
    if constexpr (detail::is_unique_ptr<Held>::value) {
      return *held;
    } else {
      return held;
    }
  }
  /// get().
  Conn& operator*() const { return get(); }
  /// &get().
  Conn* operator->() const { return &get(); }
  /// Whether the lease holds a connection (false once released, or when empty or moved from).
  explicit operator bool() const noexcept { return slot_ != nullptr; }

  /// Gives the connection back now.
  void release() noexcept { give_back(false); }
  /// Gives it back to be closed: the caller knows it is unusable (or in an unknown state).
  void release_broken() noexcept { give_back(true); }

 private:
  void give_back(bool broken) noexcept {
    if (!slot_) return;
    auto owner = std::move(owner_);
    owner->give_back(std::move(slot_), broken);
  }

  std::shared_ptr<detail::slot_owner> owner_;
  std::unique_ptr<detail::pooled_slot> slot_;
};

}  // namespace dsql
