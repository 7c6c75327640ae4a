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

// Path of the built `dsql` command.
std::string dsql_binary();

}  // namespace dsql::test
