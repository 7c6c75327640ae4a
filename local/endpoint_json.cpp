#include "local/endpoint_json.hpp"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "local/state_dir.hpp"

namespace dsql::local {

namespace {

// 'text' for a POSIX shell: nothing in it is expanded.
std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// 'value' for a libpq connection string: spaces, quotes and backslashes kept.
std::string conninfo_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string endpoint_json_text(const endpoint_info& info) {
  const std::string port = std::to_string(info.port);
  // The token is signed with the local keys through the default credential chain's environment
  // source, exactly as a user would sign for a real cluster. Every value is quoted for the shell
  // (and the CA path for libpq too), so that a DIR with spaces or quotes still pastes.
  const std::string conninfo = "host=" + info.hostname + " port=" + port + " user=" + info.user +
                               " dbname=" + info.database +
                               " sslmode=verify-full sslrootcert=" + conninfo_quote(info.ca_file);
  const std::string psql = "AWS_ACCESS_KEY_ID=" + shell_quote(info.access_key_id) +
                           " AWS_SECRET_ACCESS_KEY=" + shell_quote(info.secret_access_key) +
                           " PGPASSWORD=\"$(dsql token --host " + shell_quote(info.hostname) +
                           " --region " + shell_quote(info.region) + ")\" psql " +
                           shell_quote(conninfo);
  nlohmann::json j = {
      {"hostname", info.hostname},
      {"port", info.port},
      {"region", info.region},
      {"ca_file", info.ca_file},
      {"access_key_id", info.access_key_id},
      {"secret_access_key", info.secret_access_key},
      {"cluster_id", info.cluster_id},
      {"cluster_endpoint", info.cluster_endpoint},
      {"principal_arn", info.principal_arn},
      {"user", info.user},
      {"database", info.database},
      {"listen_address", info.listen_address},
      {"sslmode", "verify-full"},
      {"pid", static_cast<long long>(info.pid)},
      {"psql", psql},
  };
  if (info.peer) {
    j["peer"] = {{"hostname", info.hostname},
                 {"port", info.peer->port},
                 {"region", info.peer->region},
                 {"cluster_id", info.peer->cluster_id},
                 {"cluster_endpoint", info.peer->cluster_endpoint}};
  }
  return j.dump(2) + "\n";
}

void write_endpoint_json(const std::string& path, const endpoint_info& info) {
  write_file_atomically(path, endpoint_json_text(info), 0600);
}

void remove_endpoint_json(const std::string& path, pid_t pid) noexcept {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return;
    std::stringstream ss;
    ss << in.rdbuf();
    const auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("pid") && j["pid"].is_number_integer() &&
        j["pid"].get<long long>() != static_cast<long long>(pid)) {
      return;
    }
    ::unlink(path.c_str());
  } catch (...) {
    // Nothing useful to do on the way out.
  }
}

}  // namespace dsql::local
