#include "local_endpoint.hpp"
#include "support/run_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "dsql/token.hpp"

namespace dsql::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Waits for a child; true when it was reaped (status filled in).
bool wait_for(pid_t pid, std::chrono::milliseconds timeout, int& status) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return true;
    if (steady_clock::now() >= deadline) return false;
    sleep_ms(20);
  }
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir("/proc"), ::closedir);
  if (!d) return out;
  while (dirent* e = ::readdir(d.get())) {
    char* end = nullptr;
    const long v = std::strtol(e->d_name, &end, 10);
    if (end && *end == '\0' && v > 0) out.push_back(static_cast<pid_t>(v));
  }
  return out;
}

}  // namespace

std::string local_dsql_binary() {
  return std::string(DSQL_BINARY_DIR) + "/cli/dsql";
}

std::vector<pid_t> processes_mentioning(const std::string& text) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    if (pid == ::getpid()) continue;
    std::string cmd = slurp("/proc/" + std::to_string(pid) + "/cmdline");
    for (char& c : cmd) {
      if (c == '\0') c = ' ';
    }
    if (cmd.find(text) != std::string::npos) out.push_back(pid);
  }
  return out;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == parent) out.push_back(pid);
  }
  return out;
}

local_endpoint::local_endpoint() : local_endpoint(options{}) {}

local_endpoint::local_endpoint(options opts) : options_(std::move(opts)) {
  char tmpl[] = "/tmp/dsql-local-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed: " + std::string(strerror(errno)));
  base_ = tmpl;
  // When the tests run as root, PostgreSQL runs as `postgres` and must pass through here.
  ::chmod(base_.c_str(), 0711);
  dir_ = base_ + "/" + options_.dir_name;
  output_file_ = base_ + "/dsql-local.out";
  if (options_.start) {
    try {
      start();
    } catch (...) {
      sweep_leftovers();
      std::error_code ec;
      fs::remove_all(base_, ec);
      throw;
    }
  }
}

local_endpoint::~local_endpoint() {
  stop();
  sweep_leftovers();
  std::error_code ec;
  fs::remove_all(base_, ec);
}

std::string local_endpoint::output() const {
  return slurp(output_file_);
}

void local_endpoint::start() {
  if (running()) return;
  std::vector<std::string> args = {local_dsql_binary(), "local", "--dir", dir_, "--port", "0"};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<std::string> env_strings = environment_with(options_.env);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  const int out = ::open(output_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out < 0) throw std::runtime_error("cannot open " + output_file_);
  const pid_t parent = ::getpid();
  // fork+exec rather than posix_spawn for the parent-death signal: if the test binary crashes,
  // the endpoint gets SIGTERM and shuts PostgreSQL down instead of running forever.
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out);
  pid_ = pid;

  const auto deadline = steady_clock::now() + options_.ready_timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("dsql local exited before it was ready (status " +
                               std::to_string(status) + "); its output:\n" + output());
    }
    try {
      const auto j = nlohmann::json::parse(slurp(endpoint_json_path()));
      if (j.at("pid").get<long long>() == static_cast<long long>(pid_)) break;
    } catch (const std::exception&) {
      // Not written yet (or a stale file from an earlier run).
    }
    if (steady_clock::now() >= deadline) {
      stop();
      throw std::runtime_error("dsql local was not ready within " +
                               std::to_string(options_.ready_timeout.count()) +
                               " s; its output:\n" + output());
    }
    sleep_ms(25);
  }
  read_endpoint_json();
}

void local_endpoint::read_endpoint_json() {
  const auto j = nlohmann::json::parse(slurp(endpoint_json_path()));
  hostname_ = j.at("hostname").get<std::string>();
  port_ = j.at("port").get<std::uint16_t>();
  region_ = j.at("region").get<std::string>();
  ca_file_ = j.at("ca_file").get<std::string>();
  access_key_id_ = j.at("access_key_id").get<std::string>();
  secret_access_key_ = j.at("secret_access_key").get<std::string>();
  cluster_id_ = j.value("cluster_id", std::string());
  cluster_endpoint_ = j.value("cluster_endpoint", std::string());
  principal_arn_ = j.value("principal_arn", std::string());
  peer_.reset();
  if (j.contains("peer") && j["peer"].is_object()) {
    const auto& p = j["peer"];
    peer_ = peer_endpoint{p.at("hostname").get<std::string>(), p.at("port").get<std::uint16_t>(),
                          p.at("region").get<std::string>(), p.value("cluster_id", std::string()),
                          p.value("cluster_endpoint", std::string())};
  }
}

int local_endpoint::stop(int signal) noexcept {
  if (pid_ <= 0) return 0;
  int status = 0;
  ::kill(pid_, signal);
  if (!wait_for(pid_, options_.stop_timeout, status)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    status = -1;
    sweep_leftovers();
  }
  pid_ = -1;
  return status;
}

bool local_endpoint::wait_for_exit(std::chrono::milliseconds timeout, int& status) {
  if (pid_ <= 0) return true;
  if (!wait_for(pid_, timeout, status)) return false;
  pid_ = -1;
  return true;
}

void local_endpoint::restart() {
  stop();
  start();
}

void local_endpoint::sweep_leftovers() noexcept {
  // Only reached when something went wrong: whatever still runs on our directory is killed so
  // that one broken test cannot leave a server behind for the rest of the suite.
  try {
    if (dir_.empty()) return;
    for (pid_t pid : processes_mentioning(dir_)) {
      // The postmaster leads its own process group: take its backends along.
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
  } catch (...) {
  }
}

dsql::credentials local_endpoint::credentials() const {
  dsql::credentials c;
  c.access_key_id = access_key_id_;
  c.secret_access_key = secret_access_key_;
  c.source = "dsql local";
  return c;
}

dsql::config local_endpoint::config(const std::string& user) const {
  dsql::config c;
  c.host = hostname_;
  c.port = port_;
  c.region = region_;
  c.user = user;
  c.sslrootcert = ca_file_;
  c.credentials = std::make_shared<dsql::static_credentials_provider>(credentials());
  return c;
}

std::string local_endpoint::sign(const std::string& user, const std::string& host,
                                 const std::string& region) const {
  dsql::token_request req;
  req.hostname = host;
  req.region = region;
  req.action = dsql::action_for_user(user);
  return dsql::generate_token(req, credentials(), std::chrono::system_clock::now());
}

std::string local_endpoint::token(const std::string& user, const std::string& host) const {
  return sign(user, host.empty() ? hostname_ : host, region_);
}

std::vector<std::pair<std::string, std::string>> local_endpoint::libpq_params(
    const std::string& user) const {
  return {{"host", hostname_},       {"port", std::to_string(port_)},
          {"dbname", "postgres"},    {"user", user},
          {"password", token(user)}, {"sslmode", "verify-full"},
          {"sslrootcert", ca_file_}, {"connect_timeout", "10"}};
}

const local_endpoint::peer_endpoint& local_endpoint::require_peer() const {
  if (!peer_) throw std::logic_error("this dsql local endpoint has no peer (--peer-region)");
  return *peer_;
}

dsql::config local_endpoint::peer_config(const std::string& user) const {
  const peer_endpoint& p = require_peer();
  dsql::config c = config(user);
  c.host = p.hostname;
  c.port = p.port;
  c.region = p.region;
  return c;
}

std::string local_endpoint::peer_token(const std::string& user, const std::string& host) const {
  const peer_endpoint& p = require_peer();
  return sign(user, host.empty() ? p.hostname : host, p.region);
}

std::vector<std::pair<std::string, std::string>> local_endpoint::peer_libpq_params(
    const std::string& user) const {
  const peer_endpoint& p = require_peer();
  return {{"host", p.hostname},           {"port", std::to_string(p.port)},
          {"dbname", "postgres"},         {"user", user},
          {"password", peer_token(user)}, {"sslmode", "verify-full"},
          {"sslrootcert", ca_file_},      {"connect_timeout", "10"}};
}

}  // namespace dsql::test
