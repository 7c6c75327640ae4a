#include "local/state_dir.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "dsql/endpoint.hpp"

namespace dsql::local {
namespace {

namespace fs = std::filesystem;

constexpr const char* lock_file_name = "dsql-local.lock";
constexpr const char* config_file_name = "config.json";
constexpr std::string_view lower_alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view upper_alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view secret_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

std::string read_small_file(int fd) {
  std::string out;
  char buf[64];
  if (lseek(fd, 0, SEEK_SET) < 0) return out;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > 256) break;
  }
  return out;
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

local_settings create_settings(const std::string& region) {
  local_settings s;
  s.cluster_id = random_string(26, lower_alnum);
  s.region = region.empty() ? default_region : region;
  // AKIA... makes the key look like a long-term AWS key to tools that sniff the prefix; LOCAL
  // makes it obvious in logs that it only works here.
  s.admin_identity.access_key_id = "AKIALOCAL" + random_string(11, upper_alnum);
  s.admin_identity.secret_access_key = random_string(40, secret_alphabet);
  s.admin_identity.principal_arn = local_principal_arn;
  return s;
}

}  // namespace

std::string local_settings::cluster_endpoint() const {
  return dsql::cluster_endpoint(cluster_id, region);
}

std::string random_string(std::size_t length, std::string_view alphabet) {
  if (alphabet.empty() || alphabet.size() > 256) {
    throw std::invalid_argument("random_string: bad alphabet");
  }
  // Rejection sampling keeps every character equally likely.
  const unsigned limit = 256u - (256u % static_cast<unsigned>(alphabet.size()));
  std::string out;
  out.reserve(length);
  std::vector<unsigned char> buf(64);
  while (out.size() < length) {
    if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
      throw std::runtime_error("the OpenSSL random generator failed");
    }
    for (unsigned char b : buf) {
      if (b >= limit) continue;
      out.push_back(alphabet[b % alphabet.size()]);
      if (out.size() == length) break;
    }
  }
  return out;
}

void write_file_atomically(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + errno_text(errno));
  // open() honours the umask; the mode is a promise (0600 for secrets), so set it exactly.
  (void)::fchmod(fd, mode);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot write " + tmp + ": " + errno_text(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + tmp + ": " + errno_text(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + errno_text(err));
  }
}

state_dir::state_dir(const std::string& dir) {
  if (dir.empty()) throw std::runtime_error("--dir must not be empty");
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(dir), ec);
  if (ec) throw std::runtime_error("cannot resolve --dir " + dir + ": " + ec.message());
  p = p.lexically_normal();
  path_ = p.string();
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();

  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      throw std::runtime_error("cannot use " + path_ + " as the dsql local directory: it exists " +
                               "and is not a directory");
    }
  } else {
    fs::create_directories(p, ec);
    if (ec) {
      throw std::runtime_error("cannot create the dsql local directory " + path_ + ": " +
                               ec.message());
    }
    // Only the owner (and, when root, the PostgreSQL user passing through) needs it.
    (void)::chmod(path_.c_str(), 0700);
  }
  // For root, access() still reports a read-only file system, which is the case that matters.
  if (::access(path_.c_str(), W_OK | X_OK) != 0) {
    throw std::runtime_error("the dsql local directory " + path_ +
                             " is not writable: " + errno_text(errno));
  }

  const std::string lock_path = file(lock_file_name);
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    throw std::runtime_error("the dsql local directory " + path_ + " is not writable: cannot " +
                             "create " + lock_path + ": " + errno_text(errno));
  }
  // flock dies with the process, so a crashed instance never leaves DIR locked.
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder = trim(read_small_file(lock_fd_));
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw std::runtime_error("another dsql local is already running on " + path_ +
                               (holder.empty() ? std::string() : " (pid " + holder + ")"));
    }
    throw std::runtime_error("cannot lock " + lock_path + ": " + errno_text(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) {
    const int err = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw std::runtime_error("the dsql local directory " + path_ +
                             " is not writable: " + errno_text(err));
  }
}

state_dir::~state_dir() {
  if (lock_fd_ >= 0) {
    // Emptied rather than removed: unlinking would let a newcomer lock a fresh inode while a
    // third process still holds the old one.
    (void)::ftruncate(lock_fd_, 0);
    ::close(lock_fd_);
  }
}

std::string state_dir::file(std::string_view name) const {
  std::string out = path_;
  if (out != "/") out += '/';
  out += name;
  return out;
}

namespace {

nlohmann::json limits_to_json(const local_limits& l) {
  return {{"max_connections", l.max_connections},
          {"connection_rate", l.connection_rate},
          {"connection_burst", l.connection_burst},
          {"max_transaction_rows", l.max_transaction_rows},
          {"max_transaction_bytes", l.max_transaction_bytes},
          {"max_transaction_age", l.max_transaction_age},
          {"max_connection_age", l.max_connection_age},
          {"index_build_delay", l.index_build_delay}};
}

// Every key named, so that a misspelt limit is an error rather than silently ignored.
local_limits limits_from_json(const nlohmann::json& j, const std::string& path) {
  local_limits l;
  const nlohmann::json known = limits_to_json(l);
  for (const auto& [key, value] : j.items()) {
    if (!known.contains(key)) {
      throw std::runtime_error(path + ": unknown limit \"" + key + "\" (known: " + [&] {
        std::string names;
        for (const auto& [k, v] : known.items()) names += (names.empty() ? "" : ", ") + k;
        return names;
      }() + ")");
    }
    if (!value.is_number() || value.get<double>() < 0) {
      throw std::runtime_error(path + ": limit \"" + key + "\" must be a number >= 0");
    }
  }
  l.max_connections = j.value("max_connections", l.max_connections);
  l.connection_rate = j.value("connection_rate", l.connection_rate);
  l.connection_burst = j.value("connection_burst", l.connection_burst);
  l.max_transaction_rows = j.value("max_transaction_rows", l.max_transaction_rows);
  l.max_transaction_bytes = j.value("max_transaction_bytes", l.max_transaction_bytes);
  l.max_transaction_age = j.value("max_transaction_age", l.max_transaction_age);
  l.max_connection_age = j.value("max_connection_age", l.max_connection_age);
  l.index_build_delay = j.value("index_build_delay", l.index_build_delay);
  return l;
}

nlohmann::json settings_to_json(const local_settings& s) {
  nlohmann::json j = {
      {"version", 1},
      {"cluster_id", s.cluster_id},
      {"region", s.region},
      {"access_key_id", s.admin_identity.access_key_id},
      {"secret_access_key", s.admin_identity.secret_access_key},
      {"principal_arn", s.admin_identity.principal_arn},
  };
  if (!s.peer_cluster_id.empty()) {
    j["peer"] = {{"cluster_id", s.peer_cluster_id}, {"region", s.peer_region}};
  }
  return j;
}

}  // namespace

std::string local_settings::peer_cluster_endpoint() const {
  return peer_cluster_id.empty() ? std::string()
                                 : dsql::cluster_endpoint(peer_cluster_id, peer_region);
}

local_settings state_dir::load_or_create_settings(const std::string& region,
                                                  const std::string& peer_region) {
  for (const std::string* r : {&region, &peer_region}) {
    if (!r->empty() && !is_region_name(*r)) {
      throw std::runtime_error(std::string(r == &region ? "--region " : "--peer-region ") + *r +
                               " is not a valid region name (for example us-east-1)");
    }
  }
  const std::string path = file(config_file_name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    local_settings s = create_settings(region);
    if (!peer_region.empty()) {
      s.peer_cluster_id = random_string(26, lower_alnum);
      s.peer_region = peer_region;
    }
    write_file_atomically(path, settings_to_json(s).dump(2) + "\n", 0600);
    return s;
  }

  std::stringstream ss;
  ss << in.rdbuf();
  local_settings s;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
    s.cluster_id = j.at("cluster_id").get<std::string>();
    s.region = j.at("region").get<std::string>();
    s.admin_identity.access_key_id = j.at("access_key_id").get<std::string>();
    s.admin_identity.secret_access_key = j.at("secret_access_key").get<std::string>();
    s.admin_identity.principal_arn = j.value("principal_arn", std::string(local_principal_arn));
    if (j.contains("peer")) {
      s.peer_cluster_id = j.at("peer").at("cluster_id").get<std::string>();
      s.peer_region = j.at("peer").at("region").get<std::string>();
    }
    if (j.contains("limits")) s.limits = limits_from_json(j.at("limits"), path);
  } catch (const nlohmann::json::exception& e) {
    // The parser's message may quote the file, which holds the secret: keep only its id.
    throw std::runtime_error(path + " is damaged (JSON error " + std::to_string(e.id) +
                             "); restore it or start with an empty --dir");
  }
  if (s.cluster_id.size() != 26 || !is_region_name(s.region) ||
      s.admin_identity.access_key_id.empty() || s.admin_identity.secret_access_key.empty() ||
      (!s.peer_cluster_id.empty() &&
       (s.peer_cluster_id.size() != 26 || !is_region_name(s.peer_region)))) {
    throw std::runtime_error(path + " is damaged (bad cluster_id, region or keys); restore it " +
                             "or start with an empty --dir");
  }
  if (!region.empty() && region != s.region) {
    throw std::runtime_error(path_ + " was created for region " + s.region +
                             "; --region only applies on the first start (omit it, or use " +
                             "another --dir)");
  }
  if (!peer_region.empty() && !s.peer_region.empty() && peer_region != s.peer_region) {
    throw std::runtime_error(path_ + " has a peer in region " + s.peer_region +
                             "; --peer-region cannot change it (omit it, or use another --dir)");
  }
  if (!peer_region.empty() && s.peer_cluster_id.empty()) {
    if (peer_region == s.region) {
      throw std::runtime_error("--peer-region must differ from the endpoint's region " + s.region);
    }
    s.peer_cluster_id = random_string(26, lower_alnum);
    s.peer_region = peer_region;
    j["peer"] = {{"cluster_id", s.peer_cluster_id}, {"region", s.peer_region}};
    write_file_atomically(path, j.dump(2) + "\n", 0600);
  }
  return s;
}

std::vector<std::string> state_dir::repair_modes() const {
  std::vector<std::string> warnings;
  auto repair = [&](const std::string& path, mode_t keep, mode_t want) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    const mode_t mode = st.st_mode & 07777;
    if ((mode & ~keep) == 0) return;
    const mode_t fixed = (mode & keep) | want;
    if (::chmod(path.c_str(), fixed) == 0) {
      char text[64];
      std::snprintf(text, sizeof text, " was mode %04o; made it %04o", static_cast<unsigned>(mode),
                    static_cast<unsigned>(fixed));
      warnings.push_back(path + text);
    }
  };
  for (const char* name :
       {config_file_name, "endpoint.json", "postgres.log", "tls/ca.key", "tls/server.key"}) {
    repair(file(name), 0600, 0);
  }
  // The owner's rights, and the search bit that lets PostgreSQL's system user reach pgdata.
  repair(path_, 0700 | S_IXOTH, 0);
  return warnings;
}

std::string state_dir::install_library(std::string_view name, std::string_view bytes) const {
  const std::string dir = file("lib");
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create " + dir + ": " + errno_text(errno));
  }
  (void)::chmod(dir.c_str(), 0755);
  const std::string path = dir + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  std::stringstream current;
  if (in) current << in.rdbuf();
  if (!in || current.str() != bytes) write_file_atomically(path, std::string(bytes), 0755);
  return dir;
}

}  // namespace dsql::local
