#pragma once

// Loopback sockets for tests that need a port: one that is taken, or one that is free.

#include <cstdint>

namespace dsql::test {

// A TCP socket listening on 127.0.0.1, on a port the kernel chose. It never accepts: clients
// connect (the kernel completes the handshake) and then hear nothing.
class loopback_listener {
 public:
  loopback_listener();  // throws std::runtime_error when the socket cannot be made
  ~loopback_listener();
  loopback_listener(const loopback_listener&) = delete;
  loopback_listener& operator=(const loopback_listener&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  void close() noexcept;

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A port on 127.0.0.1 that was free a moment ago (nothing listens on it).
std::uint16_t free_loopback_port();

// A blocking TCP connection to 127.0.0.1:port; the caller closes the descriptor. Throws
// std::runtime_error when it cannot connect.
int connect_loopback(std::uint16_t port);

}  // namespace dsql::test
