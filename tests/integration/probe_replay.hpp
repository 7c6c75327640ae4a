#pragma once

// Replays SQL probes recorded on a real Aurora DSQL cluster (tests/data/dsql_cluster_probes.json,
// format "dsql-fidelity-probes/1") against a server, and compares each step's outcome, command
// tag, SQLSTATE, message and rows with what the cluster answered.

#include <libpq-fe.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dsql::test {

// What one step gave: "ok" with a command tag (and rows), or "error" with SQLSTATE and message.
struct step_outcome {
  std::string outcome;
  std::string tag;
  std::string sqlstate;
  std::string message;
  std::vector<std::vector<std::string>> rows;  // as the recorder printed them (Go pgx values)
  std::vector<std::string> tags;               // multi-statement simple queries: one per result
};

// Runs one step as the recorder sent it: the extended protocol, or the simple one.
step_outcome run_step(PGconn* conn, const std::string& sql, bool simple_protocol);

struct probe_result {
  std::string name;
  bool outcome_and_sqlstate = false;  // every step's outcome, tag and SQLSTATE (rows too)
  bool messages = false;              // ... and every error message
  bool known_gap = false;             // the recording project could not reproduce it either
  std::string difference;             // the first mismatch, for the report
};

// Opens a fresh connection to the server under test.
using connect_fn = std::function<PGconn*()>;

// Statements to run (on the probes' connection) just before a probe, by probe name: what a
// recorded probe left out of the file had done before it on the cluster.
using predecessor_map = std::map<std::string, std::vector<std::string>>;

// Runs `setup`, then every probe in file order: single-session ones on one connection (ROLLBACK
// after each), two-session ones on two fresh connections stepping together, 150 ms apart.
std::vector<probe_result> replay_probes(const nlohmann::json& file, const connect_fn& connect,
                                        const predecessor_map& predecessors = {});

}  // namespace dsql::test
