#include <gtest/gtest.h>

#include "credentials_test_support.hpp"
#include "dsql/credentials.hpp"

namespace dsql {
namespace {

using test::credentials_error_of;
using test::scoped_env;

class DefaultChain : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};

  void write_profiles() const {
    dir.write("credentials",
              "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = " +
                  test::profile_secret() +
                  "\n[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = " +
                  test::creds_file_secret() + "\n");
  }
};

TEST_F(DefaultChain, NameIsDefaultChain) {
  EXPECT_EQ(default_credentials_chain()->name(), "default chain");
}

TEST_F(DefaultChain, EnvironmentComesFirst) {
  write_profiles();
  scoped_env id("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));
  scoped_env secret("AWS_SECRET_ACCESS_KEY", test::env_secret());
  const auto c = default_credentials_chain()->resolve();
  EXPECT_EQ(c.access_key_id, "AKIDENV");
  EXPECT_EQ(c.source, "environment");
}

TEST_F(DefaultChain, AwsProfileDoesNotSkipTheEnvironment) {
  write_profiles();
  scoped_env id("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));
  scoped_env secret("AWS_SECRET_ACCESS_KEY", test::env_secret());
  scoped_env profile("AWS_PROFILE", std::string("dev"));
  EXPECT_EQ(default_credentials_chain()->resolve().source, "environment");
}

TEST_F(DefaultChain, ExplicitProfileSkipsTheEnvironment) {
  write_profiles();
  scoped_env id("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));
  scoped_env secret("AWS_SECRET_ACCESS_KEY", test::env_secret());
  chain_options o;
  o.profile = "dev";
  const auto c = default_credentials_chain(o)->resolve();
  EXPECT_EQ(c.access_key_id, "AKIDDEV");
  EXPECT_EQ(c.source, "profile:dev");
}

TEST_F(DefaultChain, ExplicitProfileSkipsEvenABrokenEnvironment) {
  write_profiles();
  scoped_env id("AWS_ACCESS_KEY_ID", std::string("AKIDENV"));  // half a pair: an error if read
  chain_options o;
  o.profile = "default";
  EXPECT_EQ(default_credentials_chain(o)->resolve().source, "profile:default");
}

TEST_F(DefaultChain, DefaultProfileThenAwsProfile) {
  write_profiles();
  EXPECT_EQ(default_credentials_chain()->resolve().source, "profile:default");
  scoped_env profile("AWS_PROFILE", std::string("dev"));
  EXPECT_EQ(default_credentials_chain()->resolve().access_key_id, "AKIDDEV");
}

TEST_F(DefaultChain, AwsProfileNamingAMissingProfileIsAnError) {
  write_profiles();
  scoped_env profile("AWS_PROFILE", std::string("prod"));
  const std::string msg = credentials_error_of([] { default_credentials_chain()->resolve(); });
  EXPECT_NE(msg.find("'prod' not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("profiles found: default dev"), std::string::npos) << msg;
}

TEST_F(DefaultChain, ExplicitUnknownProfileIsAnError) {
  chain_options o;
  o.profile = "ghost";
  const std::string msg = credentials_error_of([&] { default_credentials_chain(o)->resolve(); });
  EXPECT_NE(msg.find("'ghost' not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir.file("config")), std::string::npos) << msg;
}

TEST_F(DefaultChain, NothingConfiguredSaysWhatWasTriedAndHowToFix) {
  const std::string msg = credentials_error_of([] { default_credentials_chain()->resolve(); });
  EXPECT_NE(msg.find("no AWS credentials found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir.file("config")), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir.file("credentials")), std::string::npos) << msg;
  EXPECT_NE(msg.find("AWS_PROFILE"), std::string::npos) << msg;
  EXPECT_NE(msg.find("profile 'default' (not found"), std::string::npos) << msg;
  // The network sources are listed too; IMDS is off in tests (AWS_EC2_METADATA_DISABLED).
  EXPECT_NE(msg.find("web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set)"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("container credentials"), std::string::npos) << msg;
  EXPECT_NE(msg.find("EC2 instance metadata (skipped: AWS_EC2_METADATA_DISABLED=true)"),
            std::string::npos)
      << msg;
}

TEST_F(DefaultChain, RegionOnlyProfileFallsThroughWithAHint) {
  dir.write("config", "[default]\nregion = us-east-1\n[dev]\nregion = x\n");
  const std::string msg = credentials_error_of([] { default_credentials_chain()->resolve(); });
  EXPECT_NE(msg.find("has no credential settings"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[profile dev]"), std::string::npos) << msg;  // the ignored-section note
}

TEST_F(DefaultChain, HalfEnvironmentStopsTheChain) {
  write_profiles();
  scoped_env secret("AWS_SECRET_ACCESS_KEY", test::env_secret());
  const std::string msg = credentials_error_of([] { default_credentials_chain()->resolve(); });
  EXPECT_NE(msg.find("AWS_ACCESS_KEY_ID is not"), std::string::npos) << msg;
}

TEST_F(DefaultChain, MalformedFileStopsTheChain) {
  dir.write("config", "[default]\nregion us-east-1\n");
  const std::string msg = credentials_error_of([] { default_credentials_chain()->resolve(); });
  EXPECT_NE(msg.find(dir.file("config") + " line 2"), std::string::npos) << msg;
}

TEST_F(DefaultChain, CredentialProcessProfile) {
  const std::string script = dir.script(
      "proc.sh", "printf '%s' '{\"Version\":1,\"AccessKeyId\":\"AKIDPROC\",\"SecretAccessKey\":\"" +
                     test::process_secret() + "\",\"Expiration\":\"2099-01-01T00:00:00Z\"}'\n");
  dir.write("config", "[profile p]\ncredential_process = '" + script + "'\n");
  chain_options o;
  o.profile = "p";
  const auto c = default_credentials_chain(o)->resolve();
  EXPECT_EQ(c.source, "process:p");
  EXPECT_EQ(c.expiration, test::at("2099-01-01T00:00:00Z"));
}

TEST_F(DefaultChain, StaticCredentialsAreCachedAndFilesAreNotReReadOnEveryResolve) {
  write_profiles();
  const auto chain = default_credentials_chain();
  EXPECT_EQ(chain->resolve().access_key_id, "AKIDDEFAULT");
  // Credentials without expiry are cached for the provider's life; a fresh chain sees the edit.
  dir.write("credentials", "[default]\naws_access_key_id = AKIDNEW\naws_secret_access_key = " +
                               test::profile_secret() + "\n");
  EXPECT_EQ(chain->resolve().access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(default_credentials_chain()->resolve().access_key_id, "AKIDNEW");
}

TEST_F(DefaultChain, ExpiringCredentialsAreRefreshedFromTheFilesAgain) {
  // The helper reads its answer from a file, so the test can change it between refreshes.
  const std::string answer = dir.file("answer.json");
  const std::string script = dir.script("proc.sh", "cat '" + answer + "'\n");
  dir.write("config", "[default]\ncredential_process = " + script + "\n");
  auto write_answer = [&](const std::string& id, const std::string& expiry) {
    dir.write("answer.json", "{\"Version\":1,\"AccessKeyId\":\"" + id +
                                 "\",\"SecretAccessKey\":\"" + test::process_secret() +
                                 "\",\"Expiration\":\"" + expiry + "\"}");
  };
  // Already inside the 5-minute refresh window: every resolve refreshes.
  write_answer("AKIDONE",
               util::format_iso8601(std::chrono::system_clock::now() + std::chrono::minutes(2)));
  const auto chain = default_credentials_chain();
  EXPECT_EQ(chain->resolve().access_key_id, "AKIDONE");
  write_answer("AKIDTWO", "2099-01-01T00:00:00Z");
  EXPECT_EQ(chain->resolve().access_key_id, "AKIDTWO");
  write_answer("AKIDTHREE", "2099-01-01T00:00:00Z");
  EXPECT_EQ(chain->resolve().access_key_id, "AKIDTWO");  // fresh now: cached
}

TEST(StaticProviders, StillWork) {
  credentials c;
  c.access_key_id = "AKIDSTATIC";
  c.secret_access_key = test::cache_secret();
  static_credentials_provider p(c);
  EXPECT_EQ(p.resolve().access_key_id, "AKIDSTATIC");
  EXPECT_EQ(p.resolve().source, "static");
  function_credentials_provider f("mine", [c] { return c; });
  EXPECT_EQ(f.resolve().source, "mine");
  EXPECT_EQ(f.name(), "mine");
}

}  // namespace
}  // namespace dsql
