#include "local/postgres_supervisor.hpp"

#include "local/child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;

namespace dsql::local {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

constexpr const char* debian_bindir = "/usr/lib/postgresql/15/bin";
constexpr const char* install_hint = "install them with: apt-get install postgresql-15";
// sockaddr_un.sun_path is 108 bytes including the terminating NUL.
constexpr std::size_t max_socket_path = 107;

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

bool has_server_binaries(const std::string& dir) {
  return !dir.empty() && is_executable(dir + "/postgres") && is_executable(dir + "/initdb");
}

std::string pg_config_bindir() {
  // pg_config comes with libpq-dev too, so its answer still has to be checked for a server.
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen("pg_config --bindir 2>/dev/null", "re"),
                                             ::pclose);
  if (!pipe) return {};
  std::array<char, 512> buf{};
  std::string out;
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe.get())) out += buf.data();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' '))
    out.pop_back();
  return out;
}

}  // namespace

std::string find_postgres_bindir() {
  if (const char* env = std::getenv("DSQL_LOCAL_PG_BINDIR"); env && *env) {
    if (has_server_binaries(env)) return env;
    throw std::runtime_error(std::string("PostgreSQL server binaries not found in ") + env +
                             " (from DSQL_LOCAL_PG_BINDIR: it needs initdb and postgres); " +
                             install_hint + ", or unset DSQL_LOCAL_PG_BINDIR");
  }
  if (has_server_binaries(debian_bindir)) return debian_bindir;
  if (std::string dir = pg_config_bindir(); has_server_binaries(dir)) return dir;
  throw std::runtime_error(std::string("PostgreSQL server binaries not found (looked in ") +
                           debian_bindir + " and pg_config --bindir); " + install_hint +
                           " (or point DSQL_LOCAL_PG_BINDIR at a directory with initdb and "
                           "postgres)");
}

postgres_supervisor::postgres_supervisor(postgres_options options) : options_(std::move(options)) {
  if (::geteuid() == 0) {
    // PostgreSQL refuses to run as root, and CI runs as root: borrow the package's system user.
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) pw = ::getpwnam("nobody");
    if (!pw) {
      throw std::runtime_error(
          "dsql local runs as root, so PostgreSQL needs an unprivileged system user, but neither "
          "'postgres' nor 'nobody' exists; create one (apt-get install postgresql-15 does)");
    }
    identity_ = {true, pw->pw_uid, pw->pw_gid};
    os_user_ = pw->pw_name;
  } else {
    identity_ = {false, ::geteuid(), ::getegid()};
    const passwd* pw = ::getpwuid(::geteuid());
    os_user_ = pw ? pw->pw_name : std::to_string(::geteuid());
  }
}

postgres_supervisor::~postgres_supervisor() {
  stop();
  if (!runtime_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(runtime_dir_, ec);
  }
}

void postgres_supervisor::say(const std::string& line) const {
  try {
    if (options_.log) options_.log(line);
  } catch (...) {
    // Logging must not turn a stop() into std::terminate.
  }
}

bool postgres_supervisor::aborted() const {
  return options_.should_abort && options_.should_abort();
}

std::string postgres_supervisor::log_tail() const {
  std::ifstream in(options_.log_file, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(size > 4096 ? size - 4096 : 0);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  const std::size_t from = lines.size() > 6 ? lines.size() - 6 : 0;
  for (std::size_t i = from; i < lines.size(); ++i) out += "\n  " + lines[i];
  return out;
}

void postgres_supervisor::initdb() {
  const std::string tmp = options_.data_dir + ".new";
  // A previous first start may have died half-way; initdb needs an empty directory.
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (::mkdir(tmp.c_str(), 0700) != 0) {
    throw std::runtime_error("cannot create " + tmp + ": " + errno_text(errno));
  }
  if (identity_.switch_user && ::chown(tmp.c_str(), identity_.uid, identity_.gid) != 0) {
    throw std::runtime_error("cannot hand " + tmp + " to user " + os_user_ + ": " +
                             errno_text(errno));
  }
  say("initialising a PostgreSQL cluster in " + options_.data_dir + " (first start)");
  const int log_fd =
      ::open(options_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    throw std::runtime_error("cannot open " + options_.log_file + ": " + errno_text(errno));
  }
  child_spec spec;
  spec.args = {options_.bindir + "/initdb", "-D", tmp, "-U", superuser, "-E", "UTF8", "--locale=C",
               "--auth-local=trust", "--auth-host=reject", "--no-instructions",
               // Flushing a fresh, empty cluster costs seconds on a busy disk; only an OS crash
               // in the first minute could lose it, and then DIR is simply made again.
               "--no-sync"};
  spec.switch_user = identity_.switch_user;
  spec.uid = identity_.uid;
  spec.gid = identity_.gid;
  spec.output_fd = log_fd;
  spec.die_with_parent = true;
  spec.cwd = tmp;
  pid_t pid = -1;
  try {
    pid = spawn(spec);
  } catch (...) {
    ::close(log_fd);
    throw;
  }
  ::close(log_fd);
  int status = 0;
  if (!wait_child(pid, std::chrono::minutes(5), status, options_.should_abort)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    fs::remove_all(tmp, ec);
    if (aborted()) throw postgres_start_aborted("interrupted while initialising PostgreSQL");
    throw std::runtime_error("initdb did not finish within 5 minutes; see " + options_.log_file);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("initdb failed (" + describe_status(status) + "); last lines of " +
                             options_.log_file + ":" + log_tail());
  }

  // Local socket only, and the socket directory is private to the server's user: the front (in
  // this process) is the only way in from outside, which is what makes trust acceptable.
  const std::string hba = tmp + "/pg_hba.conf";
  {
    std::ofstream out(hba, std::ios::trunc);
    out << "# Written by dsql local: the server listens on no TCP address, only on a Unix socket\n"
           "# in a directory private to its system user. Clients reach it through the TLS front,\n"
           "# which checks IAM tokens and then logs in here.\n"
           "local all all trust\n";
    if (!out) throw std::runtime_error("cannot write " + hba);
  }
  if (identity_.switch_user) (void)::chown(hba.c_str(), identity_.uid, identity_.gid);
  if (::rename(tmp.c_str(), options_.data_dir.c_str()) != 0) {
    throw std::runtime_error("cannot rename " + tmp + " to " + options_.data_dir + ": " +
                             errno_text(errno));
  }
}

void postgres_supervisor::stop_orphaned_postmaster() {
  // A dsql that was SIGKILLed normally takes its server along (parent-death signal), but a
  // postmaster that somehow survived would block the new one on postmaster.pid.
  std::ifstream in(options_.data_dir + "/postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0 || pid == ::getpid()) return;
  const auto p = static_cast<pid_t>(pid);
  if (!process_alive(p)) {
    // A postmaster killed outright leaves its backends running (a long query goes on), and they
    // still hold its shared memory: the new server would refuse to start while they live.
    const auto left = server_processes(options_.bindir, options_.data_dir);
    if (left.empty()) return;
    say("stopping " + std::to_string(left.size()) +
        " PostgreSQL backend(s) left running by an earlier server of this directory that died");
    kill_all(left);
    return;
  }
  if (read_proc_cmdline(p).find(options_.data_dir) == std::string::npos) return;
  say("stopping a PostgreSQL left running by an earlier dsql local (pid " + std::to_string(p) +
      ")");
  ::kill(p, SIGINT);
  const auto deadline = steady_clock::now() + options_.shutdown_timeout;
  while (process_alive(p) && steady_clock::now() < deadline) sleep_ms(100);
  if (process_alive(p)) {
    ::kill(p, SIGKILL);
    for (int i = 0; i < 50 && process_alive(p); ++i) sleep_ms(100);
  }
}

void postgres_supervisor::prepare() {
  // libpq reads a comma in a host as a list of hosts, the socket setting cannot quote a '"', the
  // library path is colon-separated, and a socket path has 107 bytes at most: a DIR with any of
  // these gets the socket (and the library) in a private directory of its own under /tmp.
  const std::string socket_file =
      options_.socket_dir + "/.s.PGSQL." + std::to_string(options_.port);
  const bool awkward_socket = options_.socket_dir.find_first_of(",\"") != std::string::npos ||
                              socket_file.size() > max_socket_path;
  const bool awkward_library = options_.library_dir.find_first_of(":,\"") != std::string::npos;
  if ((awkward_socket || awkward_library) && runtime_dir_.empty()) {
    std::string pattern = "/tmp/dsql-local-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a runtime directory under /tmp: " +
                               errno_text(errno));
    }
    runtime_dir_ = pattern;
    (void)::chmod(runtime_dir_.c_str(), 0711);
    say("the path of --dir cannot hold PostgreSQL's socket or library; using " + runtime_dir_);
  }
  if (awkward_socket) options_.socket_dir = runtime_dir_ + "/run";
  if (awkward_library) {
    const std::string lib = runtime_dir_ + "/lib";
    std::error_code ec;
    fs::create_directories(lib, ec);
    (void)::chmod(lib.c_str(), 0755);
    fs::copy_file(fs::path(options_.library_dir) / "dsql_rules.so", fs::path(lib) / "dsql_rules.so",
                  fs::copy_options::overwrite_existing, ec);
    if (ec)
      throw std::runtime_error("cannot copy the rules library to " + lib + ": " + ec.message());
    options_.library_dir = lib;
  }
  const std::string dir = fs::path(options_.data_dir).parent_path().string();
  if (identity_.switch_user) {
    // The server's user must pass through DIR to reach pgdata and run; it still cannot list it.
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
      (void)::chmod(dir.c_str(), (st.st_mode & 07777) | S_IXOTH);
    }
    if (std::string blocked = first_unsearchable_ancestor(dir, identity_.uid, identity_.gid);
        !blocked.empty()) {
      throw std::runtime_error("dsql local runs as root, so PostgreSQL runs as user '" + os_user_ +
                               "', who cannot reach " + dir + " because " + blocked +
                               " is not searchable by it; choose a --dir elsewhere (for "
                               "example under /tmp or /var/tmp) or run chmod o+x " +
                               blocked);
    }
  }

  if (::mkdir(options_.socket_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create " + options_.socket_dir + ": " + errno_text(errno));
  }
  (void)::chmod(options_.socket_dir.c_str(), 0700);
  if (identity_.switch_user) {
    (void)::chown(options_.socket_dir.c_str(), identity_.uid, identity_.gid);
  }
}

void postgres_supervisor::start() {
  if (running()) return;
  prepare();

  struct stat st {};
  if (::stat((options_.data_dir + "/PG_VERSION").c_str(), &st) != 0) {
    std::error_code ec;
    if (fs::exists(options_.data_dir, ec) && !fs::is_empty(options_.data_dir, ec)) {
      throw std::runtime_error(options_.data_dir +
                               " exists but holds no PostgreSQL cluster (no PG_VERSION); move it "
                               "away or use another --dir");
    }
    fs::remove(options_.data_dir, ec);
    initdb();
  } else if (identity_.switch_user && ::stat(options_.data_dir.c_str(), &st) == 0 &&
             st.st_uid != identity_.uid) {
    // Made by an earlier non-root run: PostgreSQL insists on owning its data directory.
    say("giving " + options_.data_dir + " to user " + os_user_);
    chown_tree(options_.data_dir, identity_.uid, identity_.gid);
  }
  if (aborted()) throw postgres_start_aborted("interrupted while starting PostgreSQL");

  stop_orphaned_postmaster();

  const int log_fd =
      ::open(options_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    throw std::runtime_error("cannot open " + options_.log_file + ": " + errno_text(errno));
  }
  child_spec spec;
  spec.args = {options_.bindir + "/postgres", "-D", options_.data_dir, "-p",
               std::to_string(options_.port), "-c", "listen_addresses=", "-c",
               // Quoted: the setting is a comma-separated list, and DIR may hold a comma.
               "unix_socket_directories=\"" + options_.socket_dir + "\"", "-c",
               "unix_socket_permissions=0700", "-c", "logging_collector=off", "-c",
               "max_connections=" + std::to_string(options_.max_connections),
               // What DSQL reports and uses; see docs/local.md.
               "-c", "TimeZone=UTC", "-c", "default_transaction_isolation=repeatable read",
               // DSQL's only text search configuration.
               "-c", "default_text_search_config=pg_catalog.simple"};
  if (!options_.library_dir.empty()) {
    spec.args.insert(spec.args.end(),
                     {"-c", "shared_preload_libraries=dsql_rules", "-c",
                      "dynamic_library_path=" + options_.library_dir + ":$libdir"});
  }
  for (const auto& [name, value] : options_.settings) {
    spec.args.insert(spec.args.end(), {"-c", name + "=" + value});
  }
  spec.switch_user = identity_.switch_user;
  spec.uid = identity_.uid;
  spec.gid = identity_.gid;
  spec.output_fd = log_fd;
  spec.own_process_group = true;
  spec.die_with_parent = true;
  spec.cwd = options_.data_dir;
  try {
    pid_ = spawn(spec);
  } catch (...) {
    ::close(log_fd);
    throw;
  }
  ::close(log_fd);
  // Set here as well as in the child so that a stop() right away finds the group.
  (void)::setpgid(pid_, pid_);

  try {
    wait_until_ready();
    ensure_admin_role();
  } catch (...) {
    stop();
    throw;
  }
}

void postgres_supervisor::wait_until_ready() {
  const std::string port = std::to_string(options_.port);
  const char* keys[] = {"host", "port", "user", "dbname", "connect_timeout", nullptr};
  const char* values[] = {
      options_.socket_dir.c_str(), port.c_str(), superuser, "postgres", "2", nullptr};
  const auto deadline = steady_clock::now() + options_.startup_timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      throw std::runtime_error("PostgreSQL stopped during startup (" + describe_status(status) +
                               "); last lines of " + options_.log_file + ":" + log_tail());
    }
    if (PQpingParams(keys, values, 0) == PQPING_OK) return;
    if (aborted()) throw postgres_start_aborted("interrupted while starting PostgreSQL");
    if (steady_clock::now() >= deadline) {
      throw std::runtime_error("PostgreSQL did not accept connections within " +
                               std::to_string(options_.startup_timeout.count()) + " s; see " +
                               options_.log_file + ":" + log_tail());
    }
    sleep_ms(100);
  }
}

void postgres_supervisor::ensure_admin_role() {
  const std::string port = std::to_string(options_.port);
  const char* keys[] = {"host", "port", "user", "dbname", "connect_timeout", nullptr};
  const char* values[] = {
      options_.socket_dir.c_str(), port.c_str(), superuser, "postgres", "10", nullptr};
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdbParams(keys, values, 0), PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to PostgreSQL on " + options_.socket_dir + ": " +
                             (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  // DSQL's admin can create roles, databases objects and grant IAM access; SUPERUSER is the
  // closest PostgreSQL equivalent (and what the front needs to set up IAM mappings as admin).
  std::unique_ptr<PGresult, void (*)(PGresult*)> res(
      PQexec(conn.get(),
             "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'admin') THEN "
             "CREATE ROLE admin WITH LOGIN SUPERUSER; END IF; END$$"),
      PQclear);
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    throw std::runtime_error(std::string("cannot create the admin role: ") +
                             PQerrorMessage(conn.get()));
  }
}

std::optional<std::string> postgres_supervisor::exited_unexpectedly() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  // Its backends may still run (a postmaster killed outright does not take them along).
  kill_all(server_processes(options_.bindir, options_.data_dir));
  pid_ = -1;
  return "PostgreSQL exited unexpectedly (" + describe_status(status) + "); last lines of " +
         options_.log_file + ":" + log_tail();
}

void postgres_supervisor::stop() noexcept {
  if (pid_ <= 0) return;
  int status = 0;
  // SIGINT is PostgreSQL's fast shutdown: sessions are rolled back, a checkpoint is written.
  ::kill(pid_, SIGINT);
  if (!wait_child(pid_, options_.shutdown_timeout, status)) {
    say("PostgreSQL did not stop within " + std::to_string(options_.shutdown_timeout.count()) +
        " s; forcing an immediate shutdown");
    ::kill(pid_, SIGQUIT);
    if (!wait_child(pid_, std::chrono::seconds(10), status)) {
      ::killpg(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  // Nothing of the server outlives dsql local.
  kill_all(server_processes(options_.bindir, options_.data_dir));
  pid_ = -1;
}

}  // namespace dsql::local
