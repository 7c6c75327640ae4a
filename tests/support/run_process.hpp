#pragma once

// Runs a program for a test and captures what it printed, with a bound on how long it may take.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dsql::test {

struct process_result {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

using env_overrides = std::map<std::string, std::optional<std::string>>;

// This process's environment as "NAME=value" strings, with `overrides` applied: a value replaces
// or adds a variable, nullopt removes one.
std::vector<std::string> environment_with(const env_overrides& overrides);

// `env` entries replace or add variables; a nullopt value removes one.
process_result run_process(const std::vector<std::string>& argv,
                           const std::map<std::string, std::optional<std::string>>& env = {},
                           std::chrono::seconds timeout = std::chrono::seconds(60));

// A program started in the background (stdin /dev/null), its stdout and stderr going to
// `output_prefix`.out and .err. Killed with SIGKILL if still running when destroyed.
class background_process {
 public:
  background_process(const std::vector<std::string>& argv, const env_overrides& env,
                     const std::string& output_prefix);
  ~background_process();
  background_process(const background_process&) = delete;
  background_process& operator=(const background_process&) = delete;

  int pid() const noexcept { return pid_; }
  void kill(int signal) noexcept;
  // Waits for it to end; the status as waitpid gives it. false when `timeout` passed first.
  bool wait(std::chrono::milliseconds timeout, int& status);
  std::string out() const;
  std::string err() const;

 private:
  int pid_ = -1;
  std::string prefix_;
};

// Path of the built `dsql` command.
std::string dsql_binary();

}  // namespace dsql::test
