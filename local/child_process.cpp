#include "local/child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace dsql::local {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Polls a child until it exits. Returns true with its wait status, false on timeout or abort.
bool wait_child(pid_t pid, std::chrono::milliseconds timeout, int& status,
                const std::function<bool()>& abort) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {
      status = 0;
      return true;  // not our child any more (reaped elsewhere): nothing left to wait for
    }
    if (steady_clock::now() >= deadline || (abort && abort())) return false;
    sleep_ms(50);
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

bool process_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

std::string read_proc_cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  for (char& c : s) {
    if (c == '\0') c = ' ';
  }
  return s;
}

pid_t spawn(const child_spec& spec) {
  // Everything the child needs is prepared here: between fork and exec only async-signal-safe
  // calls are allowed, since other threads may hold locks (malloc's included).
  std::vector<char*> argv;
  for (const auto& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view v(*e);
    // PGDATA, PGPORT, PGOPTIONS... from the user's shell must not redirect our server.
    if (v.rfind("PG", 0) == 0 || v.rfind("LC_ALL=", 0) == 0) continue;
    env_store.emplace_back(v);
  }
  env_store.emplace_back("LC_ALL=C");
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) throw std::runtime_error("cannot open /dev/null: " + errno_text(errno));
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(devnull);
    throw std::runtime_error("cannot start " + spec.args[0] + ": " + errno_text(err));
  }
  if (pid == 0) {
    const auto die = [&](const char* what) {
      const int err = errno;
      const int fd = spec.output_fd >= 0 ? spec.output_fd : 2;
      const char* e = ::strerror(err);  // not strictly async-signal-safe; glibc's is in practice
      (void)!::write(fd, "dsql local: ", 12);
      (void)!::write(fd, what, std::strlen(what));
      (void)!::write(fd, ": ", 2);
      (void)!::write(fd, e, std::strlen(e));
      (void)!::write(fd, "\n", 1);
      ::_exit(127);
    };
    if (spec.own_process_group) (void)::setpgid(0, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2}) {
      ::sigaction(sig, &dfl, nullptr);
    }
    // dsql blocks SIGINT/SIGTERM in every thread to sigwait for them; the mask is inherited.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(devnull, 0);
    if (spec.output_fd >= 0) {
      ::dup2(spec.output_fd, 1);
      ::dup2(spec.output_fd, 2);
    }
    // The front's listening socket must not outlive dsql inside PostgreSQL.
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    }
    if (spec.switch_user) {
      if (::setgroups(1, &spec.gid) != 0) die("setgroups");
      if (::setgid(spec.gid) != 0) die("setgid");
      if (::setuid(spec.uid) != 0) die("setuid");
    }
    // After setuid, which clears the parent-death signal.
    if (spec.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGINT);
      if (::getppid() != parent) ::_exit(1);
    }
    if (::chdir(spec.cwd.c_str()) != 0) die("chdir");
    ::execve(argv[0], argv.data(), envp.data());
    die(argv[0]);
  }
  ::close(devnull);
  return pid;
}

// Whether a user can reach `path`: search permission on every ancestor.
std::string first_unsearchable_ancestor(const std::string& path, uid_t uid, gid_t gid) {
  fs::path p = fs::path(path);
  std::vector<fs::path> chain;
  for (fs::path q = p; !q.empty(); q = q.parent_path()) {
    chain.push_back(q);
    if (q == q.parent_path()) break;
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    struct stat st {};
    if (::stat(it->c_str(), &st) != 0) continue;
    mode_t bit = S_IXOTH;
    if (st.st_uid == uid) {
      bit = S_IXUSR;
    } else if (st.st_gid == gid) {
      bit = S_IXGRP;
    }
    if ((st.st_mode & bit) == 0) return it->string();
  }
  return {};
}

// The processes of the server of `data_dir`: each backend leads a session of its own, so neither
// the postmaster's process group nor its children find them once the postmaster is gone, but
// every one of them works in the data directory and runs the server binary.
std::vector<pid_t> server_processes(const std::string& bindir, const std::string& data_dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  const fs::path binary = fs::weakly_canonical(fs::path(bindir) / "postgres", ec);
  const fs::path dir = fs::weakly_canonical(data_dir, ec);
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::error_code link_ec;
    const fs::path exe = fs::read_symlink(entry.path() / "exe", link_ec);
    if (link_ec || exe != binary) continue;
    const fs::path cwd = fs::read_symlink(entry.path() / "cwd", link_ec);
    if (link_ec || cwd != dir) continue;
    out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Kills them and waits, up to 5 s, for them to go.
void kill_all(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) ::kill(p, SIGKILL);
  for (int i = 0; i < 100; ++i) {
    if (std::none_of(pids.begin(), pids.end(), process_alive)) return;
    sleep_ms(50);
  }
}

void chown_tree(const std::string& root, uid_t uid, gid_t gid) {
  (void)::lchown(root.c_str(), uid, gid);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    (void)::lchown(it->path().c_str(), uid, gid);
  }
}

}  // namespace dsql::local
