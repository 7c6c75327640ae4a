#include <gtest/gtest.h>

#include "credentials/sources.hpp"
#include "credentials_test_support.hpp"

namespace dsql {
namespace {

using credential_sources::try_environment;
using test::credentials_error_of;
using test::scoped_env;

class EnvironmentSource : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};
};

TEST_F(EnvironmentSource, NotConfiguredGivesNullopt) {
  EXPECT_FALSE(try_environment());
}

TEST_F(EnvironmentSource, EmptyVariablesCountAsUnset) {
  scoped_env id("AWS_ACCESS_KEY_ID", std::string());
  scoped_env secret("AWS_SECRET_ACCESS_KEY", std::string());
  EXPECT_FALSE(try_environment());
}

TEST_F(EnvironmentSource, KeysAndSessionToken) {
  scoped_env id("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));
  scoped_env secret("AWS_SECRET_ACCESS_KEY", test::env_secret());
  {
    const auto c = try_environment();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->access_key_id, "AKIDENV");
    EXPECT_EQ(c->secret_access_key, test::env_secret());
    EXPECT_EQ(c->session_token, "");
    EXPECT_FALSE(c->expiration);
    EXPECT_EQ(c->source, "environment");
  }
  scoped_env token("AWS_SESSION_TOKEN", test::env_token());
  EXPECT_EQ(try_environment()->session_token, test::env_token());
}

TEST_F(EnvironmentSource, OnlyTheIdIsAnErrorNamingTheSecretVariable) {
  scoped_env id("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));
  scoped_env token("AWS_SESSION_TOKEN", test::env_token());
  const std::string msg = credentials_error_of([] { try_environment(); });
  EXPECT_NE(msg.find("AWS_SECRET_ACCESS_KEY is not"), std::string::npos) << msg;
}

TEST_F(EnvironmentSource, OnlyTheSecretIsAnErrorNamingTheIdVariable) {
  scoped_env secret("AWS_SECRET_ACCESS_KEY", test::env_secret());
  const std::string msg = credentials_error_of([] { try_environment(); });
  EXPECT_NE(msg.find("AWS_ACCESS_KEY_ID is not"), std::string::npos) << msg;
}

}  // namespace
}  // namespace dsql
