#include <gtest/gtest.h>

#include "sigv4/request_signer.hpp"
#include "test_support.hpp"

namespace dsql::sigv4 {
namespace {

// AWS's SigV4 test suite, case post-x-www-form-urlencoded (aws-sig-v4-test-suite, also in
// awslabs/aws-c-auth tests/aws-signing-test-suite): the shape of every STS Query API call.
TEST(RequestSigner, PostFormMatchesAwsTestSuite) {
  request_to_sign r;
  r.method = "POST";
  r.host = "example.amazonaws.com";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  r.body = "Param1=value1";
  const auto s = sign_request(r, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""},
                              "us-east-1", "service", test::at("2015-08-30T12:36:00Z"));
  EXPECT_EQ(s.canonical_request,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n"
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[0].first, "Authorization");
  EXPECT_EQ(s.headers[0].second,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
  EXPECT_EQ(s.headers[1], (std::pair<std::string, std::string>{"X-Amz-Date", "20150830T123600Z"}));
}

TEST(RequestSigner, SessionTokenIsSignedAndSent) {
  request_to_sign r;
  r.host = "sts.us-west-2.amazonaws.com";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = "Action=AssumeRole";
  const auto s = sign_request(r, {"ASIAEXAMPLE", "secret", "the-session-token"}, "us-west-2", "sts",
                              test::at("2026-01-15T12:00:00Z"));
  EXPECT_NE(s.canonical_request.find("x-amz-security-token:the-session-token\n"),
            std::string::npos);
  EXPECT_NE(
      s.headers[0].second.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"),
      std::string::npos);
  EXPECT_NE(s.headers[0].second.find("/20260115/us-west-2/sts/aws4_request,"), std::string::npos);
  ASSERT_EQ(s.headers.size(), 3u);
  EXPECT_EQ(s.headers[2].first, "X-Amz-Security-Token");
}

TEST(RequestSigner, HeaderValuesAreTrimmedAndNamesLowercased) {
  request_to_sign r;
  r.host = "example.amazonaws.com";
  r.headers = {{"My-Header1", "  a   b  c "}};
  const auto s = sign_request(r, {"AKID", "secret", ""}, "us-east-1", "service",
                              test::at("2015-08-30T12:36:00Z"));
  EXPECT_NE(s.canonical_request.find("\nmy-header1:a b c\n"), std::string::npos);
}

}  // namespace
}  // namespace dsql::sigv4
