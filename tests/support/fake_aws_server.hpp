#pragma once

// A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) that stands in for the instance metadata
// service, container agents, STS and the SSO portal in tests. Routes are scripted per method and
// path; every request is recorded so tests can check headers and bodies. One thread accepts, one
// thread per connection answers, one request per connection ("Connection: close").

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dsql::test {

struct recorded_request {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;    // without the query
  std::string query;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  std::optional<std::string> header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  }
};

struct scripted_response {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Wait this long before answering (a slow server); the wait ends early when the server stops.
  std::chrono::milliseconds delay{0};
  // Close the connection without any answer.
  bool hang_up = false;
};

using responder = std::function<scripted_response(const recorded_request&)>;

class fake_aws_server {
 public:
  fake_aws_server();
  ~fake_aws_server();
  fake_aws_server(const fake_aws_server&) = delete;
  fake_aws_server& operator=(const fake_aws_server&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string url() const;

  // Queues answers for METHOD PATH (path without query). Queued answers are used in order and
  // the last one repeats. Unrouted requests get 404.
  void on(const std::string& method, const std::string& path, scripted_response r);
  // A computed answer; replaces any queue for the route.
  void on(const std::string& method, const std::string& path, responder fn);

  std::vector<recorded_request> requests() const;
  std::vector<recorded_request> requests(const std::string& method, const std::string& path) const;
  std::size_t count(const std::string& method, const std::string& path) const;

 private:
  void accept_loop();
  void serve(int fd);
  scripted_response answer_for(const recorded_request& req);
  void wait_or_stop(std::chrono::milliseconds d);

  struct route {
    std::deque<scripted_response> queue;
    responder fn;
  };

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  std::map<std::pair<std::string, std::string>, route> routes_;
  std::vector<recorded_request> requests_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// A URL on 127.0.0.1 where nothing listens (connections are refused), for "service down" tests.
// The returned object keeps the port reserved while it lives.
class refused_port {
 public:
  refused_port();
  ~refused_port();
  refused_port(const refused_port&) = delete;
  refused_port& operator=(const refused_port&) = delete;
  std::string url() const;

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace dsql::test
