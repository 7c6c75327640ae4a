#pragma once

// The processes dsql local runs PostgreSQL in: spawned as another user (fork/exec with only
// async-signal-safe calls in between), waited for, found again after a crash, and stopped.
// Free functions; each is safe to call from any thread.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace dsql::local {

// strerror(err), thread-safe.
std::string errno_text(int err);

void sleep_ms(int ms);

// Polls a child until it exits. Returns true with its wait status, false on timeout or abort.
bool wait_child(pid_t pid, std::chrono::milliseconds timeout, int& status,
                const std::function<bool()>& abort = {});

// "exit status 1", "signal Killed", ...
std::string describe_status(int status);

bool process_alive(pid_t pid);

// /proc/<pid>/cmdline with its NULs as spaces; empty when the process is gone.
std::string read_proc_cmdline(pid_t pid);

struct child_spec {
  std::vector<std::string> args;  // args[0] is the absolute program path
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  int output_fd = -1;
  // A process group of its own keeps a terminal's Ctrl-C away from PostgreSQL, so that shutdown
  // happens in our order (front first) and the group can be killed as a whole as a last resort.
  bool own_process_group = false;
  // SIGINT (fast shutdown) when the spawning thread dies, so that even a SIGKILLed dsql leaves no
  // server behind.
  bool die_with_parent = false;
  std::string cwd = "/";
};

// Starts the child; throws std::runtime_error when it cannot.
pid_t spawn(const child_spec& spec);

// Whether a user can reach `path`: the first ancestor without search permission for them, or
// empty.
std::string first_unsearchable_ancestor(const std::string& path, uid_t uid, gid_t gid);

// The processes of the server of `data_dir`: each backend leads a session of its own, so neither
// the postmaster's process group nor its children find them once the postmaster is gone, but
// every one of them works in the data directory and runs the server binary.
std::vector<pid_t> server_processes(const std::string& bindir, const std::string& data_dir);

// Kills them and waits, up to 5 s, for them to go.
void kill_all(const std::vector<pid_t>& pids);

void chown_tree(const std::string& root, uid_t uid, gid_t gid);

}  // namespace dsql::local
