#include "support/tcp_relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace dsql::test {
namespace {

using clock = std::chrono::steady_clock;

struct chunk {
  clock::time_point due;
  std::string data;
  std::size_t sent = 0;
};

// One relayed connection: side 0 is the client, side 1 the server; queue[i] goes to side i.
struct link {
  int fd[2] = {-1, -1};
  std::deque<chunk> queue[2];
  bool eof[2] = {false, false};  // side i closed its end
  bool server_spoke = true;      // so that the client's first send counts as a round trip
  ~link() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  bool done() const {
    return (eof[0] && queue[1].empty()) || (eof[1] && queue[0].empty()) || fd[0] < 0 || fd[1] < 0;
  }
};

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

}  // namespace

tcp_relay::tcp_relay(std::uint16_t target, std::chrono::microseconds delay)
    : target_(target), delay_us_(delay.count()) {
  listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_ < 0 || ::bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_, 256) != 0 ||
      ::getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    if (listen_ >= 0) ::close(listen_);
    throw std::runtime_error("tcp_relay: cannot listen on 127.0.0.1: " + why);
  }
  port_ = ntohs(addr.sin_port);
  set_nonblocking(listen_);
  thread_ = std::thread([this] { loop(); });
}

tcp_relay::~tcp_relay() {
  stop_ = true;
  thread_.join();
  ::close(listen_);
}

void tcp_relay::loop() {
  std::vector<std::unique_ptr<link>> links;
  std::vector<char> buf(64 * 1024);
  while (!stop_) {
    const auto now = clock::now();
    const bool frozen = frozen_;
    auto next_due = now + std::chrono::milliseconds(20);
    std::vector<pollfd> fds{{listen_, POLLIN, 0}};
    for (auto& l : links) {
      for (int side = 0; side < 2; ++side) {
        short events = l->eof[side] ? 0 : POLLIN;
        if (!frozen && !l->queue[side].empty()) {
          const auto due = l->queue[side].front().due;
          if (due <= now) {
            events |= POLLOUT;
          } else if (due < next_due) {
            next_due = due;
          }
        }
        fds.push_back({l->fd[side], events, 0});
      }
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_due - now);
    ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(wait.count(), 0)));
    if ((fds[0].revents & POLLIN) != 0) {
      for (int client; (client = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
        const int server = connect_loopback(target_);
        if (server < 0) {
          ::close(client);
          continue;
        }
        set_nonblocking(client);
        set_nonblocking(server);
        auto l = std::make_unique<link>();
        l->fd[0] = client;
        l->fd[1] = server;
        links.push_back(std::move(l));
        ++accepted_;
      }
    }
    const auto arrived = clock::now();
    const auto delay = std::chrono::microseconds(delay_us_.load());
    for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
      link& l = *links[i / 2];
      const int side = static_cast<int>(i % 2), other = 1 - side;
      const short got = fds[i + 1].revents;
      if ((got & (POLLIN | POLLHUP | POLLERR)) != 0 && !l.eof[side]) {
        const ssize_t n = ::read(l.fd[side], buf.data(), buf.size());
        if (n > 0) {
          if (side == 0 && l.server_spoke) ++turns_;
          l.server_spoke = side == 1;
          l.queue[other].push_back({arrived + delay, std::string(buf.data(), std::size_t(n))});
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          l.eof[side] = true;
        }
      }
      if ((got & POLLOUT) != 0) {
        auto& q = l.queue[side];
        while (!q.empty() && q.front().due <= arrived) {
          chunk& c = q.front();
          const ssize_t n =
              ::send(l.fd[side], c.data.data() + c.sent, c.data.size() - c.sent, MSG_NOSIGNAL);
          if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) l.eof[side] = l.eof[other] = true;
            break;
          }
          c.sent += std::size_t(n);
          if (c.sent < c.data.size()) break;
          q.pop_front();
        }
      }
    }
    for (auto it = links.begin(); it != links.end();) {
      it = (*it)->done() ? links.erase(it) : it + 1;
    }
  }
}

}  // namespace dsql::test
