#pragma once

// The directory `dsql local` keeps everything in: a lock so one instance owns it, and the
// endpoint's persistent settings (cluster id, region, local credentials) in DIR/config.json.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "local/front_server.hpp"

namespace dsql::local {

// DSQL's limits as `dsql local` applies them. Each can be changed, in config.json's "limits"
// object or on the command line (which wins), so that tests can shrink them.
struct local_limits {
  std::int64_t max_connections = 10000;  // open connections per endpoint (53300)
  double connection_rate = 100;          // new connections per second per endpoint (53400)
  double connection_burst = 1000;        // ... after a burst of this many
  std::int64_t max_transaction_rows = 3000;
  std::int64_t max_transaction_bytes = 10 * 1024 * 1024;
  std::int64_t max_transaction_age = 300;  // seconds
  std::int64_t max_connection_age = 3600;  // seconds
  // How long an async job (CREATE INDEX ASYNC, ...) stays submitted before it runs; DSQL's
  // builds take seconds, so clients that do not wait for them fail here too.
  std::int64_t index_build_delay = 1000;  // milliseconds
};

struct local_settings {
  std::string cluster_id;  // 26 characters of [a-z0-9], like a real DSQL cluster id
  std::string region;
  identity admin_identity;  // the one access key the endpoint's "IAM" knows
  // A multi-Region peer over the same database; empty when there is none.
  std::string peer_cluster_id;
  std::string peer_region;
  local_limits limits;  // from config.json, defaults for what it does not say

  // <cluster_id>.dsql.<region>.on.aws
  std::string cluster_endpoint() const;
  std::string peer_cluster_endpoint() const;
};

inline constexpr const char* default_region = "us-east-1";
inline constexpr const char* local_principal_arn = "arn:aws:iam::000000000000:role/dsql-local";

class state_dir {
 public:
  // Creates DIR when missing, checks that it is a writable directory and takes its lock. Throws
  // std::runtime_error with a message meant for the user.
  explicit state_dir(const std::string& dir);
  ~state_dir();
  state_dir(const state_dir&) = delete;
  state_dir& operator=(const state_dir&) = delete;

  // Absolute and normalised, without a trailing slash.
  const std::string& path() const noexcept { return path_; }
  std::string file(std::string_view name) const;

  // Reads DIR/config.json, or creates it on the first start. An empty `region` means the stored
  // one (or us-east-1 on the first start); a different explicit region is refused because tokens,
  // certificates and endpoint.json all depend on it. A `peer_region` adds a multi-Region peer
  // the first time it is given; after that it must match, or be empty.
  local_settings load_or_create_settings(const std::string& region,
                                         const std::string& peer_region = {});

  // Makes the files that hold secrets private again (config.json, endpoint.json, tls/*.key,
  // postgres.log: 0600) and DIR itself (no group or other access but the search permission
  // PostgreSQL's user needs), in case an earlier run or a user loosened them. Returns one
  // warning per repair.
  std::vector<std::string> repair_modes() const;

  // Writes `bytes` to DIR/lib/<name> (only when they changed), readable by PostgreSQL's user;
  // returns DIR/lib.
  std::string install_library(std::string_view name, std::string_view bytes) const;

 private:
  std::string path_;
  int lock_fd_ = -1;
};

// `length` characters drawn uniformly from `alphabet` with OpenSSL's CSPRNG.
std::string random_string(std::size_t length, std::string_view alphabet);

// Writes through a temporary file and rename(), so readers never see a partial file.
void write_file_atomically(const std::string& path, const std::string& content, mode_t mode);

}  // namespace dsql::local
