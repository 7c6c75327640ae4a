#pragma once

// DIR/endpoint.json: how clients (tests, examples, users' tools) find a running `dsql local`.
// Written atomically once the endpoint accepts connections, removed on a clean stop.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace dsql::local {

struct endpoint_info {
  std::string hostname = "localhost";
  std::uint16_t port = 0;
  std::string region;
  std::string ca_file;  // absolute
  std::string access_key_id;
  std::string secret_access_key;
  std::string cluster_id;
  std::string cluster_endpoint;  // <cluster_id>.dsql.<region>.on.aws
  std::string principal_arn;
  std::string user = "admin";
  std::string database = "postgres";
  std::string listen_address;
  pid_t pid = 0;

  // A multi-Region peer served by the same process over the same database.
  struct peer_endpoint {
    std::uint16_t port = 0;
    std::string region;
    std::string cluster_id;
    std::string cluster_endpoint;
  };
  std::optional<peer_endpoint> peer;
};

// The JSON text, including a ready-to-paste psql command line.
std::string endpoint_json_text(const endpoint_info& info);

// Mode 0600: the file holds the local secret access key.
void write_endpoint_json(const std::string& path, const endpoint_info& info);

// Removes the file if it still describes this process (a newer instance may own it).
void remove_endpoint_json(const std::string& path, pid_t pid) noexcept;

}  // namespace dsql::local
