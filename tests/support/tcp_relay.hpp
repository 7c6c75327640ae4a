#pragma once

// A TCP relay on 127.0.0.1 for tests and benchmarks: forwards every connection to a local
// port, optionally late (added latency), held (frozen: a server that stops answering), or to a
// new port (an endpoint that restarted elsewhere). It also counts round trips: how often a
// client spoke after hearing from the server.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

namespace dsql::test {

class tcp_relay {
 public:
  // Throws std::runtime_error when it cannot listen.
  explicit tcp_relay(std::uint16_t target,
                     std::chrono::microseconds delay = std::chrono::microseconds(0));
  ~tcp_relay();
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // New connections go to `target`; open ones stay where they are.
  void retarget(std::uint16_t target) noexcept { target_ = target; }
  // Each chunk is forwarded this long after it arrived, in each direction.
  void set_delay(std::chrono::microseconds delay) noexcept { delay_us_ = delay.count(); }
  // While frozen nothing is forwarded (it waits); connections are still accepted.
  void freeze(bool frozen) noexcept { frozen_ = frozen; }
  // Client sends that followed something from the server (or came first): round trips.
  std::uint64_t client_turns() const noexcept { return turns_; }
  std::uint64_t connections() const noexcept { return accepted_; }

 private:
  void loop();

  int listen_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::uint16_t> target_;
  std::atomic<long long> delay_us_;
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> turns_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::thread thread_;
};

}  // namespace dsql::test
