#include "sigv4/sigv4.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace dsql::sigv4 {
namespace {

TEST(Sigv4, Sha256OfEmptyStringIsThePayloadHash) {
  EXPECT_EQ(sha256_hex(""), empty_payload_sha256);
}

TEST(Sigv4, HmacMatchesRfc4231Case2) {
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Sigv4, KeyedHmacIsReusable) {
  hmac_key key("Jefe");
  const auto first = key.mac("what do ya want for nothing?");
  EXPECT_EQ(first, key.mac("what do ya want for nothing?"));
  EXPECT_NE(first, key.mac("something else"));
}

TEST(Sigv4, DerivedSigningKeyMatchesAwsDocumentation) {
  // The example in AWS's "Create a signed AWS API request" page.
  EXPECT_EQ(to_hex(derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                      "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST(Sigv4, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(uri_encode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(uri_encode("a/b c+d=e&f%"), "a%2Fb%20c%2Bd%3De%26f%25");
  EXPECT_EQ(uri_encode("\xc3\xa9"), "%C3%A9");
}

TEST(Sigv4, UriDecodeRoundTripsAndRejectsBadEscapes) {
  EXPECT_EQ(uri_decode("a%2Fb%20c%2bd"), "a/b c+d");
  EXPECT_EQ(*uri_decode(uri_encode("x/y=z&\x01\xff")), "x/y=z&\x01\xff");
  EXPECT_FALSE(uri_decode("%"));
  EXPECT_FALSE(uri_decode("%2"));
  EXPECT_FALSE(uri_decode("%zz"));
  EXPECT_FALSE(uri_decode("abc%4"));
}

TEST(Sigv4, AmzDateFormatsAndParses) {
  const auto t = test::at("2026-01-15T12:34:56Z");
  EXPECT_EQ(format_amz_date(t), "20260115T123456Z");
  EXPECT_EQ(parse_amz_date("20260115T123456Z"), t);
  EXPECT_FALSE(parse_amz_date("20260115T123456"));
  EXPECT_FALSE(parse_amz_date("2026011xT123456Z"));
  EXPECT_FALSE(parse_amz_date("20260231T000000Z"));
  EXPECT_FALSE(parse_amz_date("20261301T000000Z"));
}

TEST(Sigv4, CanonicalQuerySortsByEncodedName) {
  EXPECT_EQ(canonical_query({{"b", "2"}, {"a", "x y"}, {"X-Amz-Z", "/"}, {"A", ""}}),
            "A=&X-Amz-Z=%2F&a=x%20y&b=2");
}

TEST(Sigv4, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
}

}  // namespace
}  // namespace dsql::sigv4
