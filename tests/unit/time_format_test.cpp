#include "util/time_format.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "credentials/sources.hpp"
#include "dsql/errors.hpp"
#include "dsql/token.hpp"
#include "sigv4/sigv4.hpp"

namespace dsql {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

TEST(Iso8601, AcceptsTheFormsAwsWrites) {
  ASSERT_TRUE(util::parse_iso8601("2026-01-15T12:34:56Z"));
  EXPECT_EQ(util::format_iso8601(*util::parse_expiration("2026-01-15T12:34:56Z")),
            "2026-01-15T12:34:56Z");
  EXPECT_EQ(util::parse_iso8601("2026-01-15t12:34:56z"),
            util::parse_iso8601("2026-01-15T12:34:56Z"));
  EXPECT_EQ(util::parse_iso8601("2026-01-15T12:34:56.789Z"),
            util::parse_iso8601("2026-01-15T12:34:56Z"));
  EXPECT_EQ(util::parse_iso8601("2026-01-15T14:34:56+02:00"),
            util::parse_iso8601("2026-01-15T12:34:56Z"));
  EXPECT_EQ(util::parse_iso8601("2026-01-15T10:04:56-02:30"),
            util::parse_iso8601("2026-01-15T12:34:56Z"));
  EXPECT_TRUE(util::parse_iso8601("2024-02-29T00:00:00Z"));  // leap year
  EXPECT_TRUE(util::parse_iso8601("2000-02-29T00:00:00Z"));  // divisible by 400
  EXPECT_TRUE(util::parse_iso8601("2026-12-31T23:59:59Z"));
}

TEST(Iso8601, GivesExactSecondsForEveryFourDigitYear) {
  EXPECT_EQ(util::parse_iso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(util::parse_iso8601("2026-01-15T12:34:56Z"), 1768480496);
  EXPECT_EQ(util::parse_iso8601("9999-12-31T23:59:59Z"), 253402300799);
  EXPECT_EQ(util::parse_iso8601("0000-01-01T00:00:00Z"), -62167219200);
  EXPECT_EQ(util::parse_iso8601("1969-12-31T23:59:59Z"), -1);
  // Only the range the library computes with becomes a time point exactly.
  EXPECT_EQ(util::to_time_point(0), system_clock::time_point());
  EXPECT_FALSE(util::to_time_point(-1));
  EXPECT_FALSE(util::to_time_point(253402300799));
  EXPECT_EQ(util::format_iso8601(util::far_future()), util::far_future_text);
}

TEST(Iso8601, RefusesImpossibleDatesInsteadOfNormalisingThem) {
  for (const char* bad : {
           "2026-02-30T00:00:00Z",       // 30 February
           "2025-02-29T00:00:00Z",       // not a leap year
           "2100-02-29T00:00:00Z",       // divisible by 100, not by 400
           "2026-04-31T00:00:00Z",       // April has 30 days
           "2026-01-15T12:34:60Z",       // second 60
           "2026-13-01T00:00:00Z",       // month 13
           "2026-00-01T00:00:00Z",       // month 0
           "2026-01-00T00:00:00Z",       // day 0
           "2026-01-32T00:00:00Z",       // day 32
           "2026-01-15T24:00:00Z",       // hour 24
           "2026-01-15T12:60:00Z",       // minute 60
           "2026-01-15T12:34:56+24:00",  // offset out of range
           "2026-01-15T12:34:56+02:60",  // offset minutes out of range
           "",                           // empty
           "2026-01-15T12:34:56",        // no zone
           "2026-01-15T12:34:56Z ",      // trailing space
           "2026-01-15T12:34:56Zjunk",   // trailing junk
           "2026-01-15T12:34:56.Z",      // empty fraction
           "2026-01-15 12:34:56Z",       // space instead of T
           "+2026-01-15T12:34:56Z",      // sign
           "2026-1-15T12:34:56Z",        // one-digit month
           "20260115T123456Z",           // basic format is sigv4's, not ISO 8601 extended
       }) {
    EXPECT_FALSE(util::parse_iso8601(bad)) << bad;
  }
}

TEST(Iso8601, FarFutureExpirationsMeanDoesNotExpireSoon) {
  const auto now = system_clock::now();
  for (const char* far : {"9999-12-31T23:59:59Z", "2263-01-01T00:00:00Z", "5000-06-15T00:00:00Z",
                          "9999-12-31T23:59:59-23:59"}) {
    const auto t = util::parse_expiration(far);
    ASSERT_TRUE(t) << far;
    EXPECT_GT(*t, now + std::chrono::hours(24 * 365 * 100)) << far;
    // Arithmetic the cache and the signer do on expirations must stay well defined.
    EXPECT_GT(*t - std::chrono::minutes(5), now) << far;
    EXPECT_GT(*t + max_token_expiry, *t) << far;
  }
}

TEST(Iso8601, LongPastExpirationsAreInThePast) {
  const auto now = system_clock::now();
  for (const char* past :
       {"1600-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"}) {
    const auto t = util::parse_expiration(past);
    ASSERT_TRUE(t) << past;
    EXPECT_LT(*t, now) << past;
    EXPECT_LT(*t + max_token_expiry, now) << past;
  }
}

TEST(AmzDate, RefusesDatesOutsideWhatTheClockCanHold) {
  // 9999 would overflow system_clock's nanoseconds; before 1970 SigV4 has no meaning.
  EXPECT_FALSE(sigv4::parse_amz_date("99991231T235959Z"));
  EXPECT_FALSE(sigv4::parse_amz_date("22630101T000000Z"));
  EXPECT_FALSE(sigv4::parse_amz_date("19691231T235959Z"));
  EXPECT_FALSE(sigv4::parse_amz_date("20260115T123460Z"));  // second 60
  EXPECT_TRUE(sigv4::parse_amz_date("20260115T123459Z"));
}

credentials far_future_process_credentials() {
  return credential_sources::parse_process_output(
      "{\"Version\": 1, \"AccessKeyId\": \"AKIDFAR\", \"SecretAccessKey\": "
      "\"farFutureSecretKey0000000000000000000000\", \"Expiration\": \"9999-12-31T23:59:59Z\"}",
      "far");
}

TEST(Iso8601, ProcessCredentialsExpiringIn9999SignTokens) {
  const credentials c = far_future_process_credentials();
  ASSERT_TRUE(c.expiration);
  EXPECT_GT(*c.expiration, system_clock::now() + std::chrono::hours(24 * 365 * 100));
  token_generator gen(std::make_shared<static_credentials_provider>(c));
  const std::string token =
      gen.generate(token_request{"x.dsql.us-east-1.on.aws", "us-east-1",
                                 token_action::db_connect_admin, std::chrono::seconds(900)});
  EXPECT_EQ(token.rfind("x.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&", 0), 0u);
}

TEST(Iso8601, TokensAreNotSignedForImpossibleTimes) {
  const credentials c = far_future_process_credentials();
  const token_request r{"x.dsql.us-east-1.on.aws", "us-east-1", token_action::db_connect_admin,
                        std::chrono::seconds(900)};
  for (const auto when : {system_clock::time_point(-1s), system_clock::time_point::max(),
                          system_clock::time_point::min()}) {
    try {
      generate_token(r, c, when);
      ADD_FAILURE() << "signed a token at " << when.time_since_epoch().count();
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find("1970-01-01T00:00:00Z"), std::string::npos) << e.what();
    }
  }
}

TEST(Iso8601, StsAndMetadataExpirationsIn9999DoNotWrap) {
  const auto later = system_clock::now() + std::chrono::hours(24 * 365 * 100);
  const std::string xml =
      "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAX</AccessKeyId>"
      "<SecretAccessKey>s3cr3t-value</SecretAccessKey><SessionToken>tok</SessionToken>"
      "<Expiration>9999-12-31T23:59:59Z</Expiration></Credentials></AssumeRoleResult>"
      "</AssumeRoleResponse>";
  const auto sts = credential_sources::parse_sts_response(xml, 200, "AssumeRole", "test");
  ASSERT_TRUE(sts.expiration);
  EXPECT_GT(*sts.expiration, later);
  const auto imds = credential_sources::parse_imds_credentials(
      "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\","
      "\"Expiration\":\"9999-12-31T23:59:59Z\"}",
      "role");
  ASSERT_TRUE(imds.expiration);
  EXPECT_GT(*imds.expiration, later);
}

TEST(Iso8601, ImpossibleExpirationsAreRefusedBySources) {
  EXPECT_THROW(credential_sources::parse_imds_credentials(
                   "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\","
                   "\"Expiration\":\"2026-02-30T00:00:00Z\"}",
                   "role"),
               credentials_error);
  EXPECT_THROW(credential_sources::parse_process_output(
                   "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
                   "\"Expiration\": \"2026-01-15T12:34:60Z\"}",
                   "p"),
               credentials_error);
}

}  // namespace
}  // namespace dsql
