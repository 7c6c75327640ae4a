#include "dsql/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include "dsql/errors.hpp"

#include "config_test_support.hpp"
#include "dsql/version.hpp"

namespace dsql {
namespace {

using test::clean_env;
using test::message_of;
using test::scoped_env;

TEST(Config, DefaultsFollowDsql) {
  config c;
  EXPECT_EQ(c.user, "admin");
  EXPECT_EQ(c.database, "postgres");
  EXPECT_EQ(c.sslmode, "verify-full");
  EXPECT_EQ(c.token_duration, std::chrono::seconds(900));
  clean_env env;
  c.host = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
  const auto r = resolve(c);
  EXPECT_EQ(r.target.port, 5432);
  EXPECT_EQ(r.target.region, "us-east-1");
  EXPECT_EQ(r.target.host, c.host);
  EXPECT_EQ(r.target.token_host, c.host);
  EXPECT_EQ(r.connect_timeout, std::chrono::seconds(10));
  EXPECT_EQ(r.application_name, std::string("aurora-dsql-cpp/") + version);
}

TEST(Config, ClusterIdRule) {
  EXPECT_TRUE(is_cluster_id("abcdefghijklmnopqrstuvwxyz"));
  EXPECT_TRUE(is_cluster_id("iuabtx3obgvtsv2e5wchdr2v54"));
  EXPECT_FALSE(is_cluster_id("abcdefghijklmnopqrstuvwxy"));
  EXPECT_FALSE(is_cluster_id("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
  EXPECT_FALSE(is_cluster_id("db.example.com"));
  EXPECT_FALSE(is_cluster_id("abcdefghijklmnopqrstuvwxy-"));
}

TEST(Config, RegionFromHostIncludesPrivateLinkNames) {
  EXPECT_EQ(region_from_host("x.dsql.us-east-1.on.aws"), "us-east-1");
  EXPECT_EQ(region_from_host("x.dsql-fnh4.eu-west-2.on.aws"), "eu-west-2");
  EXPECT_EQ(region_from_host("x.dsql-gamma.ap-south-1.on.aws"), "ap-south-1");
  EXPECT_EQ(region_from_host("db.example.com"), "");
  EXPECT_EQ(region_from_host("x.dsql.us-east-1.on.aws.evil.com"), "");
  // Case is ignored and the region comes back lower-case; the labels must all be there.
  EXPECT_EQ(region_from_host("X.DSQL.US-EAST-1.ON.AWS"), "us-east-1");
  EXPECT_EQ(region_from_host("dsql.us-east-1.on.aws"), "");
  EXPECT_EQ(region_from_host("x.dsql..on.aws"), "");
  EXPECT_EQ(region_from_host("x.notdsql.us-east-1.on.aws"), "");
  EXPECT_EQ(region_from_host("x.dsql.a.us-east-1.on.aws"), "");
}

TEST(Config, ClusterIdExpandsWithRegionFromEachSourceInOrder) {
  clean_env env;
  config c;
  c.host = "abcdefghijklmnopqrstuvwxyz";
  EXPECT_NE(message_of([&] { resolve(c); }).find("no region"), std::string::npos);

  const std::string dir = ::testing::TempDir();
  const std::string cfg_path = dir + "/dsql_config_test_config";
  {
    std::ofstream(cfg_path) << "[default]\nregion = ap-northeast-1\n[profile dev]\nregion = "
                               "sa-east-1\n";
  }
  scoped_env cf{"AWS_CONFIG_FILE", cfg_path};
  EXPECT_EQ(resolve(c).target.region, "ap-northeast-1");
  c.profile = "dev";
  EXPECT_EQ(resolve(c).target.region, "sa-east-1");
  scoped_env dr{"AWS_DEFAULT_REGION", "eu-central-1"};
  EXPECT_EQ(resolve(c).target.region, "eu-central-1");
  scoped_env r{"AWS_REGION", "us-west-2"};
  EXPECT_EQ(resolve(c).target.region, "us-west-2");
  c.region = "eu-west-1";
  const auto res = resolve(c);
  EXPECT_EQ(res.target.region, "eu-west-1");
  EXPECT_EQ(res.target.host, "abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws");
}

TEST(Config, ExplicitRegionWinsOverTheHostsWithAWarning) {
  clean_env env;
  config c;
  c.host = "x.dsql.us-east-2.on.aws";
  c.region = "eu-west-1";
  std::vector<std::string> heard;
  c.on_warning = [&](const std::string& w) { heard.push_back(w); };
  const auto r = resolve(c);
  EXPECT_EQ(r.target.region, "eu-west-1");
  EXPECT_EQ(r.target.host, "x.dsql.us-east-2.on.aws");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].rfind("config.region 'eu-west-1' wins over the region of host "
                                "'x.dsql.us-east-2.on.aws' ('us-east-2')",
                                0),
            0u)
      << r.warnings[0];
  EXPECT_EQ(heard, r.warnings);

  // Agreeing, or a host that names no region: nothing to warn about.
  c.region = "us-east-2";
  EXPECT_TRUE(resolve(c).warnings.empty());
  c.host = "db.example.com";
  c.region = "eu-west-1";
  EXPECT_EQ(resolve(c).target.host, "db.example.com");
  EXPECT_EQ(resolve(c).target.region, "eu-west-1");
  EXPECT_TRUE(resolve(c).warnings.empty());
  EXPECT_EQ(heard.size(), 1u);
}

TEST(Config, RegionVariablesNeverOverrideTheHosts) {
  clean_env env;
  scoped_env r{"AWS_REGION", "eu-west-1"};
  scoped_env dr{"AWS_DEFAULT_REGION", "eu-west-2"};
  config c;
  c.host = "x.dsql.us-east-2.on.aws";
  const auto res = resolve(c);
  EXPECT_EQ(res.target.region, "us-east-2");
  EXPECT_TRUE(res.warnings.empty());
  EXPECT_EQ(choose_region(c.host).region, "us-east-2");
  EXPECT_EQ(find_region("db.example.com"), "eu-west-1");
}

TEST(Config, ARefusedConfigWarnsAboutNothing) {
  clean_env env;
  config c;
  c.host = "x.dsql.us-east-2.on.aws";
  c.region = "eu-west-1";
  c.user = "";
  bool warned = false;
  c.on_warning = [&](const std::string&) { warned = true; };
  EXPECT_THROW(resolve(c), config_error);
  EXPECT_FALSE(warned);
}

TEST(Config, RegionWarningEscapesWhatTheUserWrote) {
  const auto choice = choose_region("x.dsql.us-east-2.on.aws", "eu\nwest\x1b[31m", {}, "--region");
  EXPECT_EQ(choice.region, "eu\nwest\x1b[31m");
  EXPECT_EQ(choice.warning.rfind("--region 'eu\\nwest\\x1b[31m' wins", 0), 0u) << choice.warning;
  test::expect_no_control_characters(choice.warning);
}

TEST(Config, TokenHostCanDifferFromTheAddressConnectedTo) {
  clean_env env;
  config c;
  c.host = "localhost";
  c.token_host = "abcdefghijklmnopqrstuvwxyz.dsql.us-west-2.on.aws";
  const auto r = resolve(c);
  EXPECT_EQ(r.target.host, "localhost");
  EXPECT_EQ(r.target.token_host, c.token_host);
  EXPECT_EQ(r.target.region, "us-west-2");
}

TEST(Config, ParsesUris) {
  const auto c = parse_connection_uri(
      "dsql://app@abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws:6543/postgres?region=us-east-1"
      "&profile=dev&tokenDurationSecs=60&keepalives=1&options=-c%20search_path%3Dapp");
  EXPECT_EQ(c.user, "app");
  EXPECT_EQ(c.host, "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws");
  EXPECT_EQ(c.port, 6543);
  EXPECT_EQ(c.database, "postgres");
  EXPECT_EQ(c.region, "us-east-1");
  EXPECT_EQ(c.profile, "dev");
  EXPECT_EQ(c.token_duration, std::chrono::seconds(60));
  EXPECT_EQ(c.libpq_params.at("keepalives"), "1");
  EXPECT_EQ(c.libpq_params.at("options"), "-c search_path=app");

  EXPECT_EQ(parse_connection_uri("postgres://h.dsql.us-east-1.on.aws").user, "admin");
  EXPECT_EQ(parse_connection_uri("postgresql://[::1]:5433/").host, "::1");
  EXPECT_EQ(parse_connection_uri("postgresql://[::1]:5433/").port, 5433);
  EXPECT_EQ(parse_connection_uri("POSTGRES://h?sslmode=verify-full").sslmode, "verify-full");
  EXPECT_EQ(config_from_string("abcdefghijklmnopqrstuvwxyz").host, "abcdefghijklmnopqrstuvwxyz");
}

TEST(Config, BadUrisGetClearErrors) {
  auto err = [](const char* uri) { return message_of([&] { parse_connection_uri(uri); }); };
  EXPECT_NE(err("mysql://h").find("unsupported URI scheme"), std::string::npos);
  EXPECT_NE(err("h.example.com").find("not a connection URI"), std::string::npos);
  EXPECT_NE(err("dsql://h:99999").find("invalid port"), std::string::npos);
  EXPECT_NE(err("dsql://h:0").find("invalid port"), std::string::npos);
  EXPECT_NE(err("dsql://h:abc").find("invalid port"), std::string::npos);
  EXPECT_NE(err("dsql://h:").find("no port"), std::string::npos);
  EXPECT_NE(err("dsql://h?sslmode=sometimes").find("unknown sslmode"), std::string::npos);
  EXPECT_NE(err("dsql://admin:pw@h").find("password"), std::string::npos);
  EXPECT_NE(err("dsql://h?password=x").find("password"), std::string::npos);
  EXPECT_NE(err("dsql://h1,h2").find("multi-host"), std::string::npos);
  EXPECT_NE(err("dsql://h?tokenDurationSecs=ten").find("whole number"), std::string::npos);
  EXPECT_NE(err("dsql://h?region").find("no value"), std::string::npos);
  EXPECT_NE(err("dsql://h%zz").find("percent-escape"), std::string::npos);
  EXPECT_NE(err("dsql://[::1").find("unterminated"), std::string::npos);
  // The authority is split as pool_options.endpoints are: the message names the text and where.
  EXPECT_NE(err("dsql://admin@h:abc/postgres").find("'h:abc' in the URI: invalid port 'abc'"),
            std::string::npos);
  EXPECT_NE(err("dsql://:5432/postgres").find("no host"), std::string::npos);
  EXPECT_EQ(parse_connection_uri("dsql://fe80::1/postgres").host, "fe80::1");
  EXPECT_EQ(parse_connection_uri("dsql:///postgres").host, "");
}

TEST(Config, BadSettingsGetClearErrors) {
  clean_env env;
  auto err = [](config c) { return message_of([&] { resolve(c); }); };
  config c;
  c.region = "us-east-1";
  EXPECT_NE(err(c).find("no host"), std::string::npos);
  for (const char* bad : {"https://x.dsql.us-east-1.on.aws", "x y", "x/y", ".x", "x..y"}) {
    c.host = bad;
    EXPECT_NE(err(c).find("malformed host"), std::string::npos) << bad;
  }
  c.host = "x.dsql.us-east-1.on.aws";
  for (const std::chrono::seconds bad :
       {std::chrono::seconds(0), max_token_expiry + std::chrono::seconds(1)}) {
    config d = c;
    d.token_duration = bad;
    EXPECT_NE(err(d).find("between 1 and 604800"), std::string::npos);
  }
  config weak = c;
  weak.sslmode = "require";
  EXPECT_NE(err(weak).find("dangerously_allow_unverified_tls"), std::string::npos);
  weak.dangerously_allow_unverified_tls = true;
  EXPECT_NO_THROW(resolve(weak));
  config unknown = c;
  unknown.sslmode = "maybe";
  EXPECT_NE(err(unknown).find("unknown sslmode"), std::string::npos);
  config cert = c;
  cert.sslrootcert = "/nonexistent/root.pem";
  EXPECT_NE(err(cert).find("/nonexistent/root.pem"), std::string::npos);
  config owned = c;
  owned.libpq_params["password"] = "x";
  EXPECT_NE(err(owned).find("password"), std::string::npos);
  config nouser = c;
  nouser.user.clear();
  EXPECT_NE(err(nouser).find("empty user"), std::string::npos);
}

TEST(Config, LibpqEnvironmentVariablesAreDefaultsBeneathExplicitSettings) {
  clean_env env;
  config c;
  c.host = "x.dsql.us-east-1.on.aws";
  scoped_env port{"PGPORT", "6000"};
  scoped_env timeout{"PGCONNECT_TIMEOUT", "3"};
  scoped_env cert{"PGSSLROOTCERT", test::data_path("dsql_token_vectors.json")};
  scoped_env app{"PGAPPNAME", "myapp"};
  auto r = resolve(c);
  EXPECT_EQ(r.target.port, 6000);
  EXPECT_EQ(r.connect_timeout, std::chrono::seconds(3));
  EXPECT_EQ(r.sslrootcert, test::data_path("dsql_token_vectors.json"));
  EXPECT_EQ(r.application_name, std::string("myapp:aurora-dsql-cpp/") + version);

  c.port = 7000;
  c.connect_timeout = std::chrono::seconds(4);
  c.sslrootcert = "system";
  c.application_name_prefix = "orm";
  r = resolve(c);
  EXPECT_EQ(r.target.port, 7000);
  EXPECT_EQ(r.connect_timeout, std::chrono::seconds(4));
  EXPECT_EQ(r.sslrootcert, "system");
  EXPECT_EQ(r.application_name, std::string("orm:aurora-dsql-cpp/") + version);

  scoped_env bad_port{"PGPORT", "70000"};
  c.port = 0;
  EXPECT_NE(message_of([&] { resolve(c); }).find("PGPORT"), std::string::npos);
}

TEST(Config, SystemRootCertificatesAreFoundWithoutConfiguration) {
  clean_env env;
  config c;
  c.host = "x.dsql.us-east-1.on.aws";
  const auto r = resolve(c);
  // libpq 16+ takes "system"; older ones get the distribution's bundle path.
  EXPECT_TRUE(r.sslrootcert == "system" || r.sslrootcert.rfind("/etc/", 0) == 0 ||
              r.sslrootcert.rfind("/usr/", 0) == 0)
      << r.sslrootcert;
}

}  // namespace
}  // namespace dsql
