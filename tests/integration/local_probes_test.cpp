// dsql local against answers recorded on a real Aurora DSQL cluster: every probe in
// tests/data/dsql_cluster_probes.json must get the cluster's outcome, SQLSTATE and message,
// except the ones the recording project marked as known gaps (docs/local.md lists them).
// DSQL_EXTRA_PROBES (colon-separated paths) replays further files of the same format.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "local_endpoint.hpp"
#include "probe_replay.hpp"
#include "support/libpq.hpp"

namespace dsql::test {
namespace {

nlohmann::json load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return nlohmann::json::parse(in);
}

// The shared file leaves out some recorded probes whose effects later ones saw on the cluster;
// their statements (as recorded) run before the probes that depend on them.
const predecessor_map recorded_predecessors = {
    // supported/insert_returning
    {"delete_row",
     {"INSERT INTO baseline_idx (id, value) VALUES ('00000000-0000-0000-0000-0000000000dd', "
      "'v1') ON CONFLICT (id) DO NOTHING RETURNING value"}},
    // queries/q_insert_select
    {"q_delete_using", {"INSERT INTO baseline_bulk SELECT generate_series(1, 3)"}},
    // alters/alter_add_fk_not_valid
    {"alter_validate_constraint_async",
     {"ALTER TABLE baseline_alter_fk ADD CONSTRAINT alter_fk FOREIGN KEY (parent_id) "
      "REFERENCES baseline_parent(id) NOT VALID"}},
};

void replay_file(const std::string& path, const predecessor_map& predecessors = {}) {
  SCOPED_TRACE(path);
  local_endpoint ep;
  const auto results = replay_probes(
      load(path),
      [&] {
        PGconn* conn = pq_connect(ep.libpq_params()).release();
        if (PQstatus(conn) != CONNECTION_OK) ADD_FAILURE() << PQerrorMessage(conn);
        return conn;
      },
      predecessors);
  std::size_t outcome = 0, message = 0, gaps = 0;
  std::ostringstream report;
  for (const auto& r : results) {
    outcome += r.outcome_and_sqlstate;
    message += r.messages;
    gaps += r.known_gap;
    if (!r.messages) {
      report << (r.known_gap ? "  known gap " : "  MISMATCH  ") << r.name << ": " << r.difference
             << "\n";
    }
    if (!r.known_gap) {
      EXPECT_TRUE(r.outcome_and_sqlstate) << r.name << ": " << r.difference;
      EXPECT_TRUE(r.messages) << r.name << ": " << r.difference;
    }
  }
  std::cout << path << ": " << outcome << " of " << results.size()
            << " probes give the cluster's outcome and SQLSTATE, " << message
            << " its message too (" << gaps << " known gaps)\n"
            << report.str();
}

TEST(ClusterProbes, LocalAnswersAsTheRecordedClusterDid) {
  replay_file(std::string(DSQL_TEST_DATA_DIR) + "/dsql_cluster_probes.json", recorded_predecessors);
}

TEST(ClusterProbes, ExtraRecordedProbes) {
  const char* extra = std::getenv("DSQL_EXTRA_PROBES");
  if (!extra || !*extra) {
    // Nothing to replay is a pass: this test exists for files users record themselves.
    SUCCEED();
    return;
  }
  std::stringstream paths(extra);
  for (std::string path; std::getline(paths, path, ':');) {
    if (!path.empty()) replay_file(path);
  }
}

}  // namespace
}  // namespace dsql::test
