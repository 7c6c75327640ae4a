#pragma once

// A `dsql local` endpoint for tests: starts the built `dsql local` on a fresh directory and a free
// port, waits until it is ready and tears everything down (PostgreSQL included) afterwards.
//
//   dsql::test::local_endpoint ep;             // ready here, or throws with the endpoint's output
//   dsql::connection c = dsql::connect(ep.config());
//
// Each instance owns its directory; nothing is shared between tests.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dsql/config.hpp"
#include "dsql/credentials.hpp"

namespace dsql::test {

class local_endpoint {
 public:
  struct options {
    // Appended to `dsql local --dir DIR --port 0`, e.g. {"--max-connection-age", "3"}.
    std::vector<std::string> extra_args;
    // Added to (or, with nullopt, removed from) the endpoint's environment.
    std::map<std::string, std::optional<std::string>> env;
    std::chrono::seconds ready_timeout{60};
    std::chrono::seconds stop_timeout{30};
    bool start = true;  // false: construct only, call start() later
    // The state directory's name inside the fixture's temporary directory (one with spaces or
    // commas, say); dir() is its full path.
    std::string dir_name = "d";
  };

  local_endpoint();
  explicit local_endpoint(options opts);
  // Stops the endpoint (SIGTERM, then SIGKILL and a sweep for leftover PostgreSQL processes) and
  // removes its directory.
  ~local_endpoint();
  local_endpoint(const local_endpoint&) = delete;
  local_endpoint& operator=(const local_endpoint&) = delete;

  // Starts `dsql local` and waits for endpoint.json. Throws std::runtime_error (with the
  // endpoint's output) when it exits or is not ready in time.
  void start();
  // Sends `signal` and waits; returns the exit status as from waitpid (or -1 if it had to be
  // killed). Never throws.
  int stop(int signal = 15 /* SIGTERM */) noexcept;
  // Waits for the endpoint to exit by itself; true (with its waitpid status) when it did.
  bool wait_for_exit(std::chrono::milliseconds timeout, int& status);
  // stop() then start() on the same directory: the data, CA and keys stay.
  void restart();

  bool running() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }
  // The state directory passed as --dir, and what `dsql local` printed so far.
  const std::string& dir() const noexcept { return dir_; }
  std::string output() const;

  // From endpoint.json.
  const std::string& hostname() const noexcept { return hostname_; }
  std::uint16_t port() const noexcept { return port_; }
  const std::string& region() const noexcept { return region_; }
  const std::string& ca_file() const noexcept { return ca_file_; }
  const std::string& access_key_id() const noexcept { return access_key_id_; }
  const std::string& secret_access_key() const noexcept { return secret_access_key_; }
  const std::string& cluster_id() const noexcept { return cluster_id_; }
  const std::string& cluster_endpoint() const noexcept { return cluster_endpoint_; }
  const std::string& principal_arn() const noexcept { return principal_arn_; }
  std::string endpoint_json_path() const { return dir_ + "/endpoint.json"; }

  dsql::credentials credentials() const;
  // Ready for dsql::connect: host localhost, the port, the region, sslrootcert = the local CA,
  // static credentials with the local keys, user admin.
  dsql::config config(const std::string& user = "admin") const;
  // A fresh token for `user`, signed for `host` (default: hostname()).
  std::string token(const std::string& user = "admin", const std::string& host = {}) const;
  // libpq keyword/value pairs including a fresh token, for PQconnectdbParams.
  std::vector<std::pair<std::string, std::string>> libpq_params(
      const std::string& user = "admin") const;

  // The multi-Region peer that `--peer-region R` adds (endpoint.json's "peer"): another cluster
  // id and region, its own port, the same database. nullopt when the endpoint has none.
  struct peer_endpoint {
    std::string hostname;
    std::uint16_t port = 0;
    std::string region;
    std::string cluster_id;
    std::string cluster_endpoint;
  };
  const std::optional<peer_endpoint>& peer() const noexcept { return peer_; }
  // config(), token() and libpq_params() for the peer: its port, tokens signed for its region.
  // Throw std::logic_error when there is no peer.
  dsql::config peer_config(const std::string& user = "admin") const;
  std::string peer_token(const std::string& user = "admin", const std::string& host = {}) const;
  std::vector<std::pair<std::string, std::string>> peer_libpq_params(
      const std::string& user = "admin") const;

 private:
  void read_endpoint_json();
  void sweep_leftovers() noexcept;
  const peer_endpoint& require_peer() const;
  std::string sign(const std::string& user, const std::string& host,
                   const std::string& region) const;

  options options_;
  std::string base_;  // mkdtemp directory: holds dir_ and the output file
  std::string dir_;
  std::string output_file_;
  pid_t pid_ = -1;

  std::string hostname_;
  std::uint16_t port_ = 0;
  std::string region_;
  std::string ca_file_;
  std::string access_key_id_;
  std::string secret_access_key_;
  std::string cluster_id_;
  std::string cluster_endpoint_;
  std::string principal_arn_;
  std::optional<peer_endpoint> peer_;
};

// Process ids whose command line contains `text` (e.g. a state directory), excluding this one.
std::vector<pid_t> processes_mentioning(const std::string& text);
// Process ids whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent);

// Path of the built `dsql` command.
std::string local_dsql_binary();

}  // namespace dsql::test
