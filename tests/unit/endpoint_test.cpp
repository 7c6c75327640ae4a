#include "dsql/endpoint.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "config_test_support.hpp"
#include "dsql/config.hpp"
#include "dsql/errors.hpp"

namespace dsql {
namespace {

using test::clean_env;
using test::message_of;
using test::scoped_env;

void expect_mentions(const std::string& message, std::initializer_list<const char*> needles) {
  for (const char* n : needles) {
    EXPECT_NE(message.find(n), std::string::npos) << "'" << n << "' not in: " << message;
  }
}

TEST(Endpoint, HostPortAcceptsEachForm) {
  auto parsed = [](std::string_view text) { return parse_host_port(text, "in the test"); };
  EXPECT_EQ(parsed("db.example.com").host, "db.example.com");
  EXPECT_EQ(parsed("db.example.com").port, 0);
  EXPECT_EQ(parsed("db.example.com:6543").host, "db.example.com");
  EXPECT_EQ(parsed("db.example.com:6543").port, 6543);
  EXPECT_EQ(parsed("[::1]").host, "::1");
  EXPECT_EQ(parsed("[::1]").port, 0);
  EXPECT_EQ(parsed("[::1]:5433").host, "::1");
  EXPECT_EQ(parsed("[::1]:5433").port, 5433);
  // Without brackets, several ':' are an IPv6 address, never an address and a port.
  EXPECT_EQ(parsed("fe80::1:5432").host, "fe80::1:5432");
  EXPECT_EQ(parsed("fe80::1:5432").port, 0);
  EXPECT_EQ(parsed("h:1").port, 1);
  EXPECT_EQ(parsed("h:65535").port, 65535);
}

TEST(Endpoint, HostPortRefusalsNameTheTextWhereItCameFromAndTheFix) {
  auto err = [](std::string_view text) {
    return message_of([&] { parse_host_port(text, "in pool_options.endpoints"); });
  };
  expect_mentions(err(""), {"empty", "in pool_options.endpoints", "host:port"});
  expect_mentions(err("h:"), {"'h:'", "no port", "remove the ':'"});
  for (const char* bad : {"h:0", "h:65536", "h:abc", "h:-1", "h:+1", "h: 1", "h:99999999999"}) {
    expect_mentions(err(bad), {bad, "invalid port", "in pool_options.endpoints", "1 and 65535"});
  }
  expect_mentions(err("[::1"), {"'[::1'", "unterminated", "[::1]:5432"});
  expect_mentions(err("[::1]5432"), {"'[::1]5432'", "after ']'", "[::1]:5432"});
  expect_mentions(err("[::1]:"), {"no port"});
  expect_mentions(err(":5432"), {"':5432'", "no host", "give the host first"});
  expect_mentions(err("[]:5432"), {"no host"});
  expect_mentions(err("h:x:5432"), {"'h:x:5432'", "more than one ':'", "[::1]:5432"});
}

TEST(Endpoint, UserTextInMessagesIsQuotedNeverRaw) {
  const std::string m = message_of([] { parse_host_port("h\n:x", "in the URI"); });
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  expect_mentions(m, {"'h\\n:x'"});
  const std::string p = message_of([] { parse_port("1\r", "in PGPORT"); });
  EXPECT_EQ(p.find('\r'), std::string::npos) << p;
  expect_mentions(p, {"in PGPORT", "'1\\r'"});
}

TEST(Endpoint, RegionNamesAreLowerCaseWordsJoinedByHyphens) {
  for (const char* ok : {"us-east-1", "eu-west-3", "ap-southeast-2", "x"}) {
    EXPECT_TRUE(is_region_name(ok)) << ok;
  }
  for (const char* bad :
       {"", "US-EAST-1", "us_east_1", "-us-east-1", "us-east-1-", "us east", "us-east-1.evil"}) {
    EXPECT_FALSE(is_region_name(bad)) << bad;
  }
  EXPECT_TRUE(is_region_name(std::string(64, 'a')));
  EXPECT_FALSE(is_region_name(std::string(65, 'a')));
}

TEST(Endpoint, AClusterIdAndARegionNameTheClustersEndpoint) {
  EXPECT_EQ(cluster_endpoint("abcdefghijklmnopqrstuvwxyz", "eu-west-3"),
            "abcdefghijklmnopqrstuvwxyz.dsql.eu-west-3.on.aws");
  EXPECT_EQ(region_from_host(cluster_endpoint("abcdefghijklmnopqrstuvwxyz", "eu-west-3")),
            "eu-west-3");
}

TEST(Endpoint, PortIsAWholeNumberFromOneTo65535) {
  EXPECT_EQ(parse_port("1", "in PGPORT"), 1);
  EXPECT_EQ(parse_port("65535", "in PGPORT"), 65535);
  for (const char* bad : {"", "0", "65536", "-1", "+1", "5432 ", "0x10"}) {
    expect_mentions(message_of([&] { parse_port(bad, "in PGPORT"); }),
                    {"invalid port", "in PGPORT", "between 1 and 65535"});
  }
}

// Cluster-ID expansion, token_host and region choice are covered through resolve() in
// config_test.cpp; these are what resolve_endpoint adds: its port, label and warning list.
TEST(Endpoint, ResolvePortIsTheConfigsElsePgportElse5432) {
  clean_env env;
  config c = config_from_string("x.dsql.us-east-1.on.aws");
  EXPECT_EQ(resolve_endpoint(c).port, 5432);
  scoped_env pgport{"PGPORT", "6000"};
  EXPECT_EQ(resolve_endpoint(c).port, 6000);
  c.port = 7000;
  EXPECT_EQ(resolve_endpoint(c).port, 7000);
  scoped_env bad{"PGPORT", "none"};
  c.port = 0;
  expect_mentions(message_of([&] { resolve_endpoint(c); }), {"'none'", "in PGPORT"});
}

TEST(Endpoint, ResolveWarnsUnderTheGivenLabelOnlyWhenAsked) {
  clean_env env;
  const config c = parse_connection_uri("dsql://x.dsql.us-east-1.on.aws?region=us-west-2");
  std::vector<std::string> warnings;
  EXPECT_EQ(resolve_endpoint(c, &warnings, "--region").region, "us-west-2");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("--region 'us-west-2' wins over the region of host", 0), 0u)
      << warnings[0];
  EXPECT_NO_THROW(resolve_endpoint(c));  // no list: the warning is dropped
}

TEST(Endpoint, ResolveRefusalsSayWhatIsWrongAndHowToFixIt) {
  clean_env env;
  auto err = [](const config& c, std::string_view label = "config.region") {
    return message_of([&] { resolve_endpoint(c, nullptr, label); });
  };
  config c;
  expect_mentions(err(c), {"no host", "cluster endpoint"});
  c.host = "localhost:5432";
  expect_mentions(err(c), {"malformed host", "'localhost:5432'", "port separately"});
  c.host = "db.example.com";
  expect_mentions(err(c), {"no region", "'db.example.com'", "config.region", "AWS_REGION"});
  expect_mentions(err(c, "--region"), {"no region", "--region"});
  c.region = "us west\n2";
  const std::string bad_region = err(c);
  expect_mentions(bad_region, {"invalid region", "'us west\\n2'", "us-east-1"});
  EXPECT_EQ(bad_region.find('\n'), std::string::npos);
  c.region = "us-east-1";
  c.token_host = "[::1]";
  expect_mentions(err(c), {"malformed token_host", "brackets"});
}

}  // namespace
}  // namespace dsql
