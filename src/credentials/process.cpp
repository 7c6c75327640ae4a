#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "credentials/sources.hpp"
#include "dsql/errors.hpp"
#include "util/printable.hpp"
#include "util/time_format.hpp"

extern char** environ;

namespace dsql::credential_sources {

namespace {

// Enough for any credentials JSON; a runaway helper must not exhaust memory.
constexpr std::size_t max_stdout_bytes = 1 << 20;
constexpr std::size_t max_stderr_bytes = 64 << 10;
constexpr std::size_t stderr_excerpt_chars = 512;
// How long output may stay open once the helper itself has exited: only something it started
// can still hold the pipes then, and the credentials must not wait on a stray background job.
constexpr std::chrono::milliseconds output_grace{1000};
// How often the read loop looks whether the helper has exited.
constexpr std::chrono::milliseconds exit_check_interval{50};

std::string prefix(const std::string& profile_name) {
  return "credential_process for " + profile_label(profile_name);
}

std::string describe_timeout(std::chrono::milliseconds t) {
  if (t.count() % 1000 == 0) return std::to_string(t.count() / 1000) + " s";
  return std::to_string(t.count()) + " ms";
}

// The child's own words, made safe for a one-line message: whitespace collapses to single
// spaces, control characters are escaped.
std::string stderr_excerpt(const std::string& err) {
  return util::printable(err, stderr_excerpt_chars, util::whitespace::collapse);
}

class fd_guard {
 public:
  explicit fd_guard(int fd = -1) : fd_(fd) {}
  ~fd_guard() { reset(); }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

struct pipe_pair {
  fd_guard read_end, write_end;
};

pipe_pair make_pipe(const std::string& who) {
  int fds[2];
  // O_CLOEXEC: other threads may spawn children concurrently and must not inherit our ends.
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw credentials_error(who + ": cannot create a pipe: " + std::strerror(errno));
  }
  return {fd_guard(fds[0]), fd_guard(fds[1])};
}

int wait_for(pid_t pid, int options, int* status) {
  for (;;) {
    const pid_t r = ::waitpid(pid, status, options);
    if (r >= 0 || errno != EINTR) return static_cast<int>(r);
  }
}

// The helper leads its own process group, so this reaches whatever it started too: a
// descendant holding the pipes open would otherwise outlive the timeout.
void kill_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
}

struct spawn_attrs {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  spawn_attrs() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~spawn_attrs() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  spawn_attrs(const spawn_attrs&) = delete;
  spawn_attrs& operator=(const spawn_attrs&) = delete;
};

}  // namespace

std::vector<std::string> split_command_line(const std::string& command_line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  enum { plain, single_quoted, double_quoted } state = plain;
  for (std::size_t i = 0; i < command_line.size(); ++i) {
    const char c = command_line[i];
    switch (state) {
      case plain:
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          if (in_word) words.push_back(std::move(word));
          word.clear();
          in_word = false;
        } else if (c == '\'') {
          state = single_quoted;
          in_word = true;
        } else if (c == '"') {
          state = double_quoted;
          in_word = true;
        } else if (c == '\\') {
          if (i + 1 >= command_line.size()) {
            throw credentials_error("credential_process command line ends with a backslash");
          }
          word += command_line[++i];
          in_word = true;
        } else {
          word += c;
          in_word = true;
        }
        break;
      case single_quoted:
        if (c == '\'') {
          state = plain;
        } else {
          word += c;
        }
        break;
      case double_quoted:
        if (c == '"') {
          state = plain;
        } else if (c == '\\' && i + 1 < command_line.size() &&
                   std::strchr("\\\"$`\n", command_line[i + 1]) != nullptr) {
          // POSIX: inside double quotes a backslash escapes only these; elsewhere it is literal.
          word += command_line[++i];
        } else {
          word += c;
        }
        break;
    }
  }
  if (state != plain) {
    throw credentials_error("credential_process command line has an unterminated " +
                            std::string(state == single_quoted ? "single" : "double") + " quote");
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

credentials parse_process_output(const std::string& json_text, const std::string& profile_name) {
  const std::string who = prefix(profile_name);
  // Never quote the output or nlohmann's parse error (it echoes the text): both hold secrets.
  const nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    throw credentials_error(who +
                            " printed something that is not valid JSON on stdout; it must "
                            "print only {\"Version\": 1, \"AccessKeyId\": ..., "
                            "\"SecretAccessKey\": ...}");
  }
  if (!doc.is_object()) {
    throw credentials_error(who + " printed JSON that is not an object on stdout");
  }
  const auto version = doc.find("Version");
  if (version == doc.end()) {
    throw credentials_error(who + " output has no \"Version\"; it must be the number 1");
  }
  if (!version->is_number() || version->get<double>() != 1.0) {
    std::string got = version->is_number() ? version->dump() : std::string(version->type_name());
    throw credentials_error(who + " output has \"Version\" " + got +
                            "; only the number 1 is supported");
  }
  auto required = [&](const char* key) {
    const auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) {
      throw credentials_error(who + " output has no \"" + key + "\"");
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      throw credentials_error(who + " output has \"" + key + "\" that is not a non-empty string");
    }
    return it->get<std::string>();
  };
  credentials c;
  c.access_key_id = required("AccessKeyId");
  c.secret_access_key = required("SecretAccessKey");
  if (const auto it = doc.find("SessionToken"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) {
      throw credentials_error(who + " output has \"SessionToken\" that is not a string");
    }
    c.session_token = it->get<std::string>();
  }
  if (const auto it = doc.find("Expiration"); it != doc.end() && !it->is_null()) {
    std::optional<std::chrono::system_clock::time_point> t;
    if (it->is_string()) t = util::parse_expiration(it->get_ref<const std::string&>());
    if (!t) {
      throw credentials_error(who +
                              " output has \"Expiration\" that is not an RFC 3339 "
                              "timestamp such as \"2030-01-01T00:00:00Z\"");
    }
    c.expiration = t;
  }
  c.source = "process:" + profile_name;
  return c;
}

credentials run_credential_process(const std::string& command_line, const std::string& profile_name,
                                   std::chrono::milliseconds timeout) {
  const std::string who = prefix(profile_name);
  std::vector<std::string> args;
  try {
    args = split_command_line(command_line);
  } catch (const credentials_error& e) {
    throw credentials_error(who + ": " + e.what() + "; fix the quoting in the profile");
  }
  if (args.empty()) throw credentials_error(who + " is empty; set it to a command");
  // Only the program is named in messages: arguments may carry secrets (tokens, passwords).
  const std::string program = util::quoted(args.front());

  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pipe_pair out = make_pipe(who);
  pipe_pair err = make_pipe(who);
  spawn_attrs sa;
  posix_spawn_file_actions_addopen(&sa.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&sa.actions, out.write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&sa.actions, err.write_end.get(), STDERR_FILENO);
  // The child must not die of (or ignore) signals because the host application set them so.
  sigset_t mask, defaults;
  sigemptyset(&mask);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&sa.attr, &mask);
  posix_spawnattr_setsigdefault(&sa.attr, &defaults);

  // Its own process group: on timeout the whole group is killed, not only the direct child.
  posix_spawnattr_setpgroup(&sa.attr, 0);
  posix_spawnattr_setflags(&sa.attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &sa.actions, &sa.attr, argv.data(), environ);
  if (rc != 0) {
    throw credentials_error(who + ": cannot run " + program + ": " + std::strerror(rc) +
                            "; check the command and that it is on PATH");
  }
  out.write_end.reset();
  err.write_end.reset();

  using steady = std::chrono::steady_clock;
  const auto deadline = steady::now() + timeout;
  auto remaining_ms = [&] {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    return left.count() > 0 ? left.count() : 0;
  };
  int status = 0;
  bool reaped = false;
  std::optional<steady::time_point> exited_at;
  // Every failure kills the group and reaps the helper, so that nothing is left behind.
  auto fail = [&](const std::string& message) -> credentials_error {
    kill_group(pid);
    if (!reaped) wait_for(pid, 0, &status);
    return credentials_error(message);
  };
  auto timed_out = [&] {
    return fail(who + " (" + program + ") timed out after " + describe_timeout(timeout) +
                " and was killed; make it finish sooner");
  };
  auto check_exit = [&] {
    if (reaped) return;
    const int r = wait_for(pid, WNOHANG, &status);
    if (r == pid) {
      reaped = true;
      exited_at = steady::now();
    } else if (r < 0) {
      throw fail(who + ": waitpid failed: " + std::strerror(errno));
    }
  };

  std::string stdout_text, stderr_text;
  pollfd fds[2] = {{out.read_end.get(), POLLIN, 0}, {err.read_end.get(), POLLIN, 0}};
  std::string* sinks[2] = {&stdout_text, &stderr_text};
  const std::size_t limits[2] = {max_stdout_bytes, max_stderr_bytes};
  int open_fds = 2;
  while (open_fds > 0) {
    check_exit();
    if (exited_at && steady::now() - *exited_at >= output_grace) {
      throw fail(who + " (" + program + ") exited but left its standard " +
                 (fds[0].fd >= 0 ? "output" : "error") +
                 " open (something it started in the background still holds it); the processes "
                 "it started were killed. Make it wait for its children, or redirect theirs");
    }
    const long long left = remaining_ms();
    if (left == 0) throw timed_out();
    const int n =
        ::poll(fds, 2, static_cast<int>(std::min<long long>(left, exit_check_interval.count())));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw fail(who + ": poll failed: " + std::strerror(errno));
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        const auto len = static_cast<std::size_t>(r);
        if (sinks[i]->size() + len > limits[i]) {
          if (i == 0) {
            throw fail(who + " (" + program + ") printed more than " +
                       std::to_string(max_stdout_bytes) +
                       " bytes on stdout; it must print only the credentials JSON");
          }
          continue;  // stderr beyond the limit is dropped; keep draining so the child can't block
        }
        sinks[i]->append(buf, len);
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open_fds;
      }
    }
  }

  // The child may close its output and linger; it still gets only the remaining time.
  while (!reaped) {
    check_exit();
    if (reaped) break;
    if (remaining_ms() == 0) throw timed_out();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  if (WIFSIGNALED(status)) {
    throw credentials_error(who + " (" + program + ") was killed by signal " +
                            std::to_string(WTERMSIG(status)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string msg = who + " (" + program + ") failed with exit status " +
                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    const std::string excerpt = stderr_excerpt(stderr_text);
    msg += excerpt.empty() ? " and printed nothing on stderr" : ": " + excerpt;
    throw credentials_error(msg);
  }
  return parse_process_output(stdout_text, profile_name);
}

}  // namespace dsql::credential_sources
