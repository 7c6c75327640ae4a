#include <gtest/gtest.h>
#include <soci/postgresql/soci-postgresql.h>

#include <stdexcept>

#include "dsql/soci.hpp"

namespace dsql {
namespace {

TEST(SociOcc, DataAndSchemaConflictsFromPostgresqlErrors) {
  const ::soci::postgresql_soci_error data(
      "Cannot execute query. Fatal error. ERROR:  change conflicts with another transaction "
      "(OC000)",
      "40001");
  const auto d = classify_soci_occ(data);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->kind, occ_kind::data);
  EXPECT_EQ(d->code, "OC000");
  const ::soci::postgresql_soci_error schema("ERROR:  schema has been updated (OC001)", "40001");
  ASSERT_TRUE(classify_soci_occ(schema).has_value());
  EXPECT_EQ(classify_soci_occ(schema)->kind, occ_kind::schema);
}

TEST(SociOcc, PlainSerializationFailureOnlyWhenAsked) {
  const ::soci::postgresql_soci_error plain("ERROR:  could not serialize access", "40001");
  ASSERT_TRUE(classify_soci_occ(plain, true).has_value());
  EXPECT_EQ(classify_soci_occ(plain, true)->kind, occ_kind::serialization);
  EXPECT_FALSE(classify_soci_occ(plain, false).has_value());
}

TEST(SociOcc, OtherErrorsAreNotConflicts) {
  // The marker alone is not enough: the SQLSTATE must say serialization failure.
  const ::soci::postgresql_soci_error syntax("ERROR:  syntax error near (OC000)", "42601");
  EXPECT_FALSE(is_soci_occ_conflict(syntax));
  EXPECT_FALSE(is_soci_occ_conflict(::soci::soci_error("no data (OC000)")));
  EXPECT_FALSE(is_soci_occ_conflict(std::runtime_error("40001 (OC000)")));
}

TEST(SociOcc, FoundInsideNestedExceptions) {
  try {
    try {
      throw ::soci::postgresql_soci_error("ERROR:  conflict (OC000)", "40001");
    } catch (...) {
      std::throw_with_nested(std::runtime_error("while saving the order"));
    }
  } catch (const std::exception& e) {
    const auto info = classify_soci_occ(e);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->code, "OC000");
  }
}

TEST(SociSession, RefusedBeforeConnecting) {
  EXPECT_THROW(soci_connect(config{}), config_error);
  EXPECT_THROW(soci_connect(std::shared_ptr<connector>()), config_error);
  soci_session empty;
  EXPECT_FALSE(empty);
  EXPECT_THROW(empty.get(), lease_error);
}

}  // namespace
}  // namespace dsql
