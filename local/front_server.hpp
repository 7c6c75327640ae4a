#pragma once

// The TLS front of `dsql local`: accepts PostgreSQL clients (SSLRequest preamble or direct TLS
// with ALPN "postgresql"), authenticates the cleartext password as a DSQL IAM token, then relays
// the session to the backing PostgreSQL over its Unix socket. DSQL's SQL rules run inside
// PostgreSQL (the dsql_rules library); the front keeps what needs the wire: authentication,
// connection quotas and age, fault injection, write-conflict adjudication, the ASYNC keyword.
//
// One front can serve two endpoints over the one database, as a multi-Region DSQL pair does:
// each with its own cluster id, region, port and quotas; either can be stopped and started.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "local/connection_quota.hpp"

namespace dsql::local {

// An access key the endpoint's "IAM" knows, and the principal it belongs to.
struct identity {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // when set, tokens must carry exactly this X-Amz-Security-Token
  std::string principal_arn;  // e.g. arn:aws:iam::000000000000:role/dsql-local
};

// One cluster endpoint: what clients connect to and sign tokens for.
struct endpoint_options {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port; see front_server::port()
  std::string cluster_id;
  std::string region;
  // The names tokens may be signed for; the first is the DSQL-shaped name.
  std::vector<std::string> hostnames;
  quota_limits quotas;
};

struct front_options {
  // [0] is the endpoint; a second one is its multi-Region peer.
  std::vector<endpoint_options> endpoints;

  std::string certificate_file;  // PEM chain: server certificate (then CA); covers every name
  std::string private_key_file;  // PEM
  std::vector<identity> identities;

  // The backing PostgreSQL: Unix socket directory and port; the front logs in with trust auth.
  std::string backend_socket_dir;
  std::uint16_t backend_port = 5432;
  // A superuser the front uses for its own bookkeeping (IAM mappings, conflict checks).
  std::string backend_superuser = "postgres";

  std::chrono::seconds max_connection_age{3600};
  std::chrono::seconds clock_skew{300};
  std::chrono::seconds startup_timeout{10};  // a client that stalls before auth is dropped
  // Verification clock; tests set it to replay AWS-made tokens.
  std::function<std::chrono::system_clock::time_point()> clock;
  // One line per event, never containing a token or secret. May be empty.
  std::function<void(const std::string&)> log;
};

class front_server {
 public:
  // Binds every endpoint's listener (throws std::runtime_error naming the address when a port
  // is taken).
  explicit front_server(front_options options);
  ~front_server();
  front_server(const front_server&) = delete;
  front_server& operator=(const front_server&) = delete;

  // The bound port of endpoint `index`.
  std::uint16_t port(std::size_t index = 0) const;
  // Once PostgreSQL runs: connects the front's bookkeeping and creates its objects (sys schema,
  // IAM mappings, jobs). Throws std::runtime_error when PostgreSQL cannot be reached.
  void prepare_backend();
  // Serves until stop(); blocks the calling thread.
  void run();
  // Thread-safe; makes run() return after closing every session.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dsql::local
