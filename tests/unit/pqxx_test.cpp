#include "dsql/pqxx.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "libpq_support.hpp"

namespace dsql {
namespace {

TEST(PqxxConninfo, QuotesEveryValue) {
  EXPECT_EQ(detail::conninfo_quote(""), "''");
  EXPECT_EQ(detail::conninfo_quote("plain"), "'plain'");
  EXPECT_EQ(detail::conninfo_quote("a b=c"), "'a b=c'");
  EXPECT_EQ(detail::conninfo_quote("it's"), "'it\\'s'");
  EXPECT_EQ(detail::conninfo_quote("back\\slash"), "'back\\\\slash'");
  EXPECT_EQ(detail::conninfo_quote("x' host='evil"), "'x\\' host=\\'evil'");
}

TEST(PqxxConninfo, QuotedValuesParseBackThroughLibpq) {
  // libpq's own parser is the judge: a value with quotes, backslashes, spaces and '=' must come
  // back unchanged, and must not smuggle in another keyword.
  const std::string tricky = "p@ss w'o\\rd= host='evil' \\'";
  const std::string conninfo = "application_name=" + detail::conninfo_quote(tricky) +
                               " dbname=" + detail::conninfo_quote("db name");
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  ASSERT_NE(opts, nullptr) << (err ? err : "");
  std::string app, db, host;
  for (auto* o = opts; o->keyword != nullptr; ++o) {
    const std::string k = o->keyword;
    if (o->val == nullptr) continue;
    if (k == "application_name") app = o->val;
    if (k == "dbname") db = o->val;
    if (k == "host") host = o->val;
  }
  PQconninfoFree(opts);
  EXPECT_EQ(app, tricky);
  EXPECT_EQ(db, "db name");
  EXPECT_EQ(host, "");
}

TEST(PqxxClassify, SqlErrorsWithMarkers) {
  const pqxx::sql_error data("ERROR:  change conflicts with another transaction (OC000)\n",
                             "COMMIT", "40001");
  auto info = classify_pqxx_occ(data);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->code, "OC000");
  EXPECT_EQ(info->kind, occ_kind::data);
  const pqxx::sql_error schema("schema has been updated by another transaction (OC001)", "SELECT 1",
                               "40001");
  EXPECT_EQ(classify_pqxx_occ(schema)->kind, occ_kind::schema);
  const pqxx::sql_error plain("could not serialize access", "UPDATE", "40001");
  EXPECT_TRUE(is_pqxx_occ_conflict(plain));
  EXPECT_FALSE(classify_pqxx_occ(plain, false));
  EXPECT_FALSE(is_pqxx_occ_conflict(pqxx::sql_error("duplicate key (OC000)", "INSERT", "23505")));
  EXPECT_FALSE(is_pqxx_occ_conflict(pqxx::broken_connection("gone")));
  // dsql's own errors too, so that one classifier serves mixed code.
  EXPECT_TRUE(is_pqxx_occ_conflict(sql_error("x", {"40001", "conflict (OC000)"})));
}

#if PQXX_VERSION_MAJOR < 7
TEST(PqxxClassify, Pqxx6SerializationFailureMeans40001) {
  const pqxx::serialization_failure data(
      "ERROR:  change conflicts with another transaction (OC000)");
  auto info = classify_pqxx_occ(data);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->sqlstate, "40001");
  EXPECT_EQ(info->code, "OC000");
  const pqxx::serialization_failure plain("could not serialize access");
  EXPECT_TRUE(is_pqxx_occ_conflict(plain));
  EXPECT_FALSE(classify_pqxx_occ(plain, false));
}
#endif

TEST(PqxxClassify, WalksNestedExceptions) {
  try {
    try {
      throw pqxx::sql_error("schema has been updated by another transaction (OC001)", "COMMIT",
                            "40001");
    } catch (...) {
      std::throw_with_nested(std::runtime_error("dao failed"));
    }
  } catch (const std::exception& e) {
    auto info = classify_pqxx_occ(e);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->code, "OC001");
  }
}

TEST(PqxxPool, RefusesOptionsItCannotUseAndTakesTheRest) {
  config cfg;
  cfg.host = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
  cfg.sslrootcert = "system";
  cfg.credentials = std::make_shared<static_credentials_provider>(
      credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"});
  pool_options o;
  o.after_connect = [](connection&) {};  // a dsql::connection hook cannot run on pqxx
  EXPECT_THROW(pqxx_pool(cfg, o), config_error);
  o = {};
  o.max_size = 0;
  EXPECT_THROW(pqxx_pool(cfg, o), config_error);
  o = {};
  o.endpoints = {"abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws",
                 "bcdefghijklmnopqrstuvwxyza.dsql.us-east-2.on.aws"};
  {
    pqxx_pool peers(cfg, o);  // the same engine as dsql::pool: multi-Region lists work here too
    EXPECT_EQ(peers.current_endpoint(), "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws:5432");
    EXPECT_EQ(peers.options().endpoints.size(), 2u);
  }
  pqxx_pool p(cfg);
  pqxx_pool::lease empty;
  EXPECT_THROW(empty.get(), lease_error);
  EXPECT_TRUE(p.close());
  EXPECT_TRUE(p.closed());
  EXPECT_THROW(p.acquire(), pool_closed_error);
}

}  // namespace
}  // namespace dsql
