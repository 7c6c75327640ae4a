#include <gtest/gtest.h>

#include "credentials/sources.hpp"
#include "credentials_test_support.hpp"

namespace dsql {
namespace {

using credential_sources::try_profile;
using test::credentials_error_of;

class ProfileSource : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};

  std::string static_keys(const std::string& id) const {
    return "aws_access_key_id = " + id + "\naws_secret_access_key = " + test::profile_secret() +
           "\n";
  }
};

TEST_F(ProfileSource, StaticKeysWithAndWithoutSessionToken) {
  dir.write("credentials", "[default]\n" + static_keys("AKIDDEFAULT") + "[withtoken]\n" +
                               static_keys("AKIDTOKEN") +
                               "aws_session_token = " + test::profile_token() + "\n");
  const auto files = aws_config::load();
  const auto c = try_profile(files, "default", false);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(c->secret_access_key, test::profile_secret());
  EXPECT_EQ(c->session_token, "");
  EXPECT_FALSE(c->expiration);
  EXPECT_EQ(c->source, "profile:default");
  const auto t = try_profile(files, "withtoken", true);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->session_token, test::profile_token());
  EXPECT_EQ(t->source, "profile:withtoken");
}

TEST_F(ProfileSource, ProfilePrefixedSectionBeatsPlainDefaultInConfig) {
  dir.write("config", "[profile default]\n" + static_keys("AKIDPREFIXED") + "[default]\n" +
                          static_keys("AKIDPLAIN"));
  EXPECT_EQ(try_profile(aws_config::load(), "default", false)->access_key_id, "AKIDPREFIXED");
}

TEST_F(ProfileSource, NamedProfileFromConfigNeedsTheProfilePrefix) {
  dir.write("config", "[profile x]\n" + static_keys("AKIDX") + "[y]\n" + static_keys("AKIDY"));
  const auto files = aws_config::load();
  EXPECT_EQ(try_profile(files, "x", true)->access_key_id, "AKIDX");
  const std::string msg = credentials_error_of([&] { try_profile(files, "y", true); });
  // The ignored [y] is the likely cause, so the message says so.
  EXPECT_NE(msg.find("[profile y]"), std::string::npos) << msg;
}

TEST_F(ProfileSource, CredentialsFileOverridesConfig) {
  dir.write("config", "[profile dev]\n" + static_keys("AKIDCONFIG") + "region = r\n");
  dir.write("credentials", "[dev]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = " +
                               test::creds_file_secret() + "\n");
  const auto c = try_profile(aws_config::load(), "dev", true);
  EXPECT_EQ(c->access_key_id, "AKIDCREDS");
  EXPECT_EQ(c->secret_access_key, test::creds_file_secret());
}

TEST_F(ProfileSource, UnknownExplicitProfileListsFilesProfilesAndFix) {
  dir.write("config", "[profile dev]\nregion = r\n");
  const std::string msg =
      credentials_error_of([] { try_profile(aws_config::load(), "prod", true); });
  EXPECT_NE(msg.find("'prod' not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir.file("config")), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir.file("credentials") + " (not found)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[profile prod]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("AWS_PROFILE"), std::string::npos) << msg;
  EXPECT_NE(msg.find("profiles found: dev"), std::string::npos) << msg;
}

TEST_F(ProfileSource, MissingDefaultWhenNotExplicitIsNotConfigured) {
  EXPECT_FALSE(try_profile(aws_config::load(), "default", false));
  credentials_error_of([] { try_profile(aws_config::load(), "default", true); });
}

TEST_F(ProfileSource, EmptyFilesHaveNoProfilesButAnExplicitOneIsUnknown) {
  dir.write("config", "");
  dir.write("credentials", "");
  const auto files = aws_config::load();
  EXPECT_TRUE(files.config_found);
  EXPECT_TRUE(files.profiles.empty());
  EXPECT_FALSE(try_profile(files, "default", false));
  const std::string msg = credentials_error_of([&] { try_profile(files, "dev", true); });
  EXPECT_NE(msg.find("'dev' not found"), std::string::npos) << msg;
}

TEST_F(ProfileSource, HalfAKeyPairIsAnErrorNamingTheMissingKey) {
  dir.write("credentials",
            "[a]\naws_access_key_id = AKIDA\naws_session_token = " + test::profile_token() +
                "\n[b]\naws_secret_access_key = " + test::profile_secret() + "\n");
  const auto files = aws_config::load();
  std::string msg = credentials_error_of([&] { try_profile(files, "a", false); });
  EXPECT_NE(msg.find("no aws_secret_access_key"), std::string::npos) << msg;
  msg = credentials_error_of([&] { try_profile(files, "b", false); });
  EXPECT_NE(msg.find("no aws_access_key_id"), std::string::npos) << msg;
}

TEST_F(ProfileSource, ProfileWithoutCredentialSettingsGivesNullopt) {
  dir.write("config", "[default]\nregion = us-east-1\n");
  EXPECT_FALSE(try_profile(aws_config::load(), "default", false));
  EXPECT_FALSE(try_profile(aws_config::load(), "default", true));
}

// role_arn and SSO have their own tests against local servers (credentials_cloud_*_test.cpp);
// here: role_arn comes before static keys, and SSO is dispatched, without any network call.
TEST_F(ProfileSource, RoleArnComesFirstAndSsoIsDispatched) {
  dir.write("config", "[profile rolewithkeys]\nrole_arn = arn:aws:iam::123456789012:role/r\n" +
                          static_keys("AKIDRK") +
                          "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
                          "sso_role_name = r\n[sso-session corp]\nsso_region = us-east-1\n"
                          "sso_start_url = https://example.awsapps.com/start\n");
  const auto files = aws_config::load();
  std::string msg = credentials_error_of([&] { try_profile(files, "rolewithkeys", true); });
  EXPECT_NE(msg.find("role_arn but no source_profile"), std::string::npos) << msg;
  msg = credentials_error_of([&] { try_profile(files, "sso", true); });
  EXPECT_NE(msg.find("SSO"), std::string::npos) << msg;
  EXPECT_NE(msg.find("aws sso login --sso-session corp"), std::string::npos) << msg;
}

TEST_F(ProfileSource, CredentialProcessRunsWhenThereAreNoStaticKeys) {
  const std::string script = dir.script(
      "proc.sh", "printf '%s' '{\"Version\":1,\"AccessKeyId\":\"AKIDPROC\",\"SecretAccessKey\":\"" +
                     test::process_secret() + "\"}'\n");
  dir.write("config", "[profile p]\ncredential_process = " + script + "\n");
  const auto c = try_profile(aws_config::load(), "p", true);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKIDPROC");
  EXPECT_EQ(c->source, "process:p");
}

TEST_F(ProfileSource, StaticKeysWinOverCredentialProcess) {
  dir.write("config",
            "[profile p]\ncredential_process = /nonexistent/helper\n" + static_keys("AKIDSTATIC"));
  EXPECT_EQ(try_profile(aws_config::load(), "p", true)->access_key_id, "AKIDSTATIC");
}

}  // namespace
}  // namespace dsql
