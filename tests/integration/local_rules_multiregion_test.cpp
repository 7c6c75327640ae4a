// A multi-Region DSQL pair as `dsql local --peer-region` serves it: two endpoints (own cluster
// id, region and port) over one database; a token is good only for the endpoint whose region it
// was signed for; DSQL LOCAL STOP|START ENDPOINT takes either endpoint down (as in a Region
// outage) and back. Sources: reference/dsql-server.md §5, /tmp/dsql_research/facts.md Topic 8,
// cli/local_command.cpp and local/front_server.cpp for the endpoint commands.

#include <gtest/gtest.h>

#include "local_rules.hpp"

namespace dsql::test {
namespace {

constexpr const char* access_denied = "unable to accept connection, access denied";

class MultiRegion : public shared_endpoint<MultiRegion> {
 public:
  static local_endpoint::options endpoint_options() {
    local_endpoint::options o;
    o.extra_args = {"--peer-region", "us-east-2"};
    return o;
  }

 protected:
  void SetUp() override {
    shared_endpoint::SetUp();
    ASSERT_TRUE(ep().peer().has_value()) << "endpoint.json has no peer";
  }
  // Whatever a test stopped is started again for the next one.
  void TearDown() override {
    for (const auto& cfg : {ep().config(), ep().peer_config()}) {
      try {
        connection c = dsql::connect(cfg);
        c.exec("DSQL LOCAL START ENDPOINT '" + ep().region() + "'");
        c.exec("DSQL LOCAL START ENDPOINT '" + ep().peer()->region + "'");
        return;
      } catch (const error&) {
      }
    }
  }

  static connection open_peer() { return dsql::connect(ep().peer_config()); }

  // How a connect to the peer fails: "" when it works.
  static std::string peer_connect_error() {
    const raw_connect_result r = raw_connect(ep().peer_libpq_params());
    return r.ok ? "" : r.error;
  }
};

TEST_F(MultiRegion, EndpointJsonDescribesThePeer) {
  const auto& peer = *ep().peer();
  EXPECT_EQ(peer.region, "us-east-2");
  EXPECT_NE(peer.port, ep().port());
  EXPECT_EQ(peer.cluster_id.size(), 26u);
  EXPECT_NE(peer.cluster_id, ep().cluster_id());
  EXPECT_EQ(peer.cluster_endpoint, peer.cluster_id + ".dsql.us-east-2.on.aws");
  EXPECT_EQ(peer.hostname, ep().hostname());
}

TEST_F(MultiRegion, DataWrittenThroughOneEndpointIsReadThroughTheOther) {
  connection primary = open();
  const std::string t = fresh_name("mr");
  primary.exec("CREATE TABLE " + t + " (id int PRIMARY KEY, v text)");
  primary.exec("INSERT INTO " + t + " VALUES (1, 'written in us-east-1')");
  connection peer = open_peer();
  EXPECT_EQ(scalar(peer, "SELECT v FROM " + t + " WHERE id = 1"), "written in us-east-1");
  peer.exec("INSERT INTO " + t + " VALUES (2, 'written in us-east-2')");
  EXPECT_EQ(scalar(primary, "SELECT v FROM " + t + " WHERE id = 2"), "written in us-east-2");
  // One database: the peer's writes conflict with the primary's like any other session's.
  primary.exec("BEGIN");
  primary.exec("UPDATE " + t + " SET v = 'east-1' WHERE id = 1");
  peer.exec("BEGIN");
  EXPECT_EQ(peer.exec("UPDATE " + t + " SET v = 'east-2' WHERE id = 1").command_tag(), "UPDATE 1");
  EXPECT_TRUE(runs(peer, "COMMIT"));
  EXPECT_TRUE(
      fails_with(primary, "COMMIT", "40001", "change conflicts with another transaction (OC000)"));
  EXPECT_EQ(scalar(primary, "SELECT v FROM " + t + " WHERE id = 1"), "east-2");
}

TEST_F(MultiRegion, ATokenIsGoodOnlyForTheRegionItWasSignedFor) {
  // Signed for us-east-2, the peer admits it; for its DSQL-shaped name too.
  EXPECT_EQ(scalar(open_peer(), "SELECT 1"), "1");
  config named = ep().peer_config();
  named.token_host = ep().peer()->cluster_endpoint;
  EXPECT_EQ(scalar(dsql::connect(named), "SELECT 1"), "1");

  // The primary's region is refused at the peer, by libpq and by the connector.
  auto params = ep().peer_libpq_params();
  for (auto& [k, v] : params) {
    if (k == "password") v = ep().token();
  }
  const raw_connect_result raw = raw_connect(params);
  EXPECT_FALSE(raw.ok);
  EXPECT_NE(raw.error.find(fatal_text("28000", access_denied)), std::string::npos) << raw.error;

  config wrong = ep().peer_config();
  wrong.region = ep().region();
  try {
    dsql::connect(wrong);
    ADD_FAILURE() << "a token signed for " << ep().region() << " was accepted by the peer";
  } catch (const auth_error& e) {
    EXPECT_EQ(e.sqlstate(), "28000");
    EXPECT_EQ(e.server_message(), access_denied);
  }

  // And the other way round.
  config reverse = ep().config();
  reverse.region = ep().peer()->region;
  try {
    dsql::connect(reverse);
    ADD_FAILURE() << "a token signed for us-east-2 was accepted by the primary";
  } catch (const auth_error& e) {
    EXPECT_EQ(e.sqlstate(), "28000");
  }
}

TEST_F(MultiRegion, StoppingThePeerRefusesConnectionsAndClosesItsSessions) {
  connection admin = open();
  connection peer = open_peer();
  EXPECT_EQ(scalar(peer, "SELECT 1"), "1");
  const std::uint16_t port = ep().peer()->port;

  EXPECT_EQ(admin.exec("DSQL LOCAL STOP ENDPOINT 'us-east-2'").command_tag(), "DSQL LOCAL");
  EXPECT_THROW(peer.exec("SELECT 1"), connection_error);
  const std::string refused = peer_connect_error();
  EXPECT_NE(refused.find("Connection refused"), std::string::npos) << refused;
  try {
    open_peer();
    ADD_FAILURE() << "the stopped peer accepted a connection";
  } catch (const auth_error& e) {
    ADD_FAILURE() << "a stopped endpoint refuses at TCP, not at login: " << e.what();
  } catch (const connection_error& e) {
    EXPECT_NE(std::string(e.what()).find("Connection refused"), std::string::npos) << e.what();
  }
  // The primary serves on.
  EXPECT_EQ(scalar(admin, "SELECT 2"), "2");
  EXPECT_EQ(scalar(open(), "SELECT 3"), "3");

  EXPECT_EQ(admin.exec("DSQL LOCAL START ENDPOINT 'us-east-2'").command_tag(), "DSQL LOCAL");
  // Back on the port it had: endpoint.json's, which the fixture read at start.
  config same_port = ep().peer_config();
  same_port.port = port;
  connection back = dsql::connect(same_port);
  EXPECT_EQ(scalar(back, "SELECT 4"), "4");
}

TEST_F(MultiRegion, EndpointsAreNamedByClusterIdToo) {
  connection peer = open_peer();
  const std::string primary_id = ep().cluster_id();
  EXPECT_EQ(peer.exec("DSQL LOCAL STOP ENDPOINT '" + primary_id + "'").command_tag(), "DSQL LOCAL");
  const raw_connect_result down = raw_connect(ep().libpq_params());
  EXPECT_FALSE(down.ok);
  EXPECT_NE(down.error.find("Connection refused"), std::string::npos) << down.error;
  // The peer serves on, over the same data.
  EXPECT_EQ(scalar(peer, "SELECT current_database()"), "postgres");
  EXPECT_EQ(peer.exec("DSQL LOCAL START ENDPOINT '" + primary_id + "'").command_tag(),
            "DSQL LOCAL");
  EXPECT_EQ(scalar(open(), "SELECT 1"), "1");
}

TEST_F(MultiRegion, AnEndpointThatIsNeitherARegionNorAClusterIdIsAnError) {
  connection admin = open();
  EXPECT_TRUE(fails_with(admin, "DSQL LOCAL STOP ENDPOINT 'eu-west-1'", "42704",
                         "no endpoint with cluster id or region eu-west-1"));
  EXPECT_TRUE(fails_with(admin, "DSQL LOCAL START ENDPOINT 'aaaaaaaaaaaaaaaaaaaaaaaaaa'", "42704",
                         "no endpoint with cluster id or region aaaaaaaaaaaaaaaaaaaaaaaaaa"));
  // Nothing was stopped.
  EXPECT_EQ(peer_connect_error(), "");
  EXPECT_EQ(scalar(admin, "SELECT 1"), "1");

  // Only admin may stop an endpoint.
  const std::string role = fresh_name("mr_app");
  admin.exec("CREATE ROLE " + role + " WITH LOGIN");
  admin.exec("AWS IAM GRANT " + role + " TO '" + ep().principal_arn() + "'");
  connection app = dsql::connect(ep().config(role));
  EXPECT_TRUE(fails_with(app, "DSQL LOCAL STOP ENDPOINT 'us-east-2'", "42501",
                         "only admin can stop or start an endpoint"));
  EXPECT_EQ(peer_connect_error(), "");
}

TEST_F(MultiRegion, DdlThroughOneEndpointIsNewsToSessionsOfTheOther) {
  connection peer = open_peer();
  EXPECT_EQ(scalar(peer, "SELECT 1"), "1");
  connection primary = open();
  const std::string t = fresh_name("mr_ddl");
  primary.exec("CREATE TABLE " + t + " (id int)");
  // The peer's session sees one catalog: its next statement is told of the change, once.
  EXPECT_TRUE(fails_with(peer, "SELECT count(*) FROM " + t, "40001",
                         "schema has been updated by another transaction (OC001)"));
  EXPECT_EQ(scalar(peer, "SELECT count(*) FROM " + t), "0");
}

}  // namespace
}  // namespace dsql::test
