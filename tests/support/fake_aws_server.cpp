#include "support/fake_aws_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace dsql::test {

namespace {

int bound_socket(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind() failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client gave up (a timeout test): nothing to do
    sent += static_cast<std::size_t>(n);
  }
}

// Reads one request; false if the client closed or sent garbage.
bool read_request(int fd, recorded_request& req) {
  std::string data;
  char buf[4096];
  std::size_t header_end = std::string::npos;
  while (header_end == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
    header_end = data.find("\r\n\r\n");
    if (data.size() > (1 << 20)) return false;
  }
  const std::string head = data.substr(0, header_end);
  std::size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return false;
  req.method = request_line.substr(0, sp1);
  req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    const std::string line = head.substr(pos, end - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      const auto b = value.find_first_not_of(' ');
      value = b == std::string::npos ? "" : value.substr(b);
      req.headers[name] = value;
    }
    pos = end + 2;
  }
  std::size_t length = 0;
  if (auto cl = req.header("content-length")) length = std::stoul(*cl);
  req.body = data.substr(header_end + 4);
  while (req.body.size() < length) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    req.body.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

fake_aws_server::fake_aws_server() {
  listen_fd_ = bound_socket(port_);
  if (::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("listen() failed");
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

fake_aws_server::~fake_aws_server() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  acceptor_.join();
  // The acceptor has stopped, so workers_ no longer grows.
  for (auto& t : workers_) t.join();
  ::close(listen_fd_);
}

std::string fake_aws_server::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void fake_aws_server::on(const std::string& method, const std::string& path, scripted_response r) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& entry = routes_[{method, path}];
  entry.fn = nullptr;
  entry.queue.push_back(std::move(r));
}

void fake_aws_server::on(const std::string& method, const std::string& path, responder fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& entry = routes_[{method, path}];
  entry.queue.clear();
  entry.fn = std::move(fn);
}

std::vector<recorded_request> fake_aws_server::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

std::vector<recorded_request> fake_aws_server::requests(const std::string& method,
                                                        const std::string& path) const {
  std::vector<recorded_request> out;
  for (auto& r : requests()) {
    if (r.method == method && r.path == path) out.push_back(r);
  }
  return out;
}

std::size_t fake_aws_server::count(const std::string& method, const std::string& path) const {
  return requests(method, path).size();
}

void fake_aws_server::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

scripted_response fake_aws_server::answer_for(const recorded_request& req) {
  std::unique_lock<std::mutex> lock(mutex_);
  requests_.push_back(req);
  auto it = routes_.find({req.method, req.path});
  if (it == routes_.end()) return scripted_response{404, "not found", {}, {}, false};
  route& r = it->second;
  if (r.fn) {
    responder fn = r.fn;
    lock.unlock();
    return fn(req);
  }
  if (r.queue.empty()) return scripted_response{404, "not found", {}, {}, false};
  scripted_response out = r.queue.front();
  if (r.queue.size() > 1) r.queue.pop_front();
  return out;
}

void fake_aws_server::wait_or_stop(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mutex_);
  stop_cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void fake_aws_server::serve(int fd) {
  recorded_request req;
  if (read_request(fd, req)) {
    const scripted_response r = answer_for(req);
    if (r.delay.count() > 0) wait_or_stop(r.delay);
    if (!r.hang_up && !stopping_) {
      std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
      bool has_type = false;
      for (const auto& [name, value] : r.headers) {
        out += name + ": " + value + "\r\n";
        if (name == "Content-Type") has_type = true;
      }
      if (!has_type) out += "Content-Type: text/plain\r\n";
      out += "Content-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n";
      out += r.body;
      send_all(fd, out);
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

refused_port::refused_port() {
  // Bound but never listening: connections to it are refused, and no one else can take it.
  fd_ = bound_socket(port_);
}

refused_port::~refused_port() {
  ::close(fd_);
}

std::string refused_port::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

}  // namespace dsql::test
