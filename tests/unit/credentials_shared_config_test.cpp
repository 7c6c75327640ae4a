#include "credentials/shared_config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "credentials_test_support.hpp"

namespace dsql {
namespace {

using aws_config::file_kind;
using aws_config::parse;
using test::credentials_error_of;

TEST(SharedConfigParse, ProfilesDefaultAndSsoSessionsInConfig) {
  const auto f = parse(
      "# whole-line comment\n"
      "; another\n"
      "[default]\n"
      "region = us-east-1\n"
      "\n"
      "[profile dev]\n"
      "region=eu-west-1   # trailing comment\n"
      "output = json;not-a-comment\n"
      "[sso-session corp]\n"
      "sso_region = us-east-2\n",
      file_kind::config, "cfg");
  ASSERT_EQ(f.profiles.size(), 2u);
  EXPECT_EQ(f.profiles.at("default").get("region"), "us-east-1");
  EXPECT_EQ(f.profiles.at("dev").get("region"), "eu-west-1");
  EXPECT_EQ(f.profiles.at("dev").get("output"), "json;not-a-comment");
  EXPECT_EQ(f.profiles.at("dev").name, "dev");
  EXPECT_EQ(f.sso_sessions.at("corp").get("sso_region"), "us-east-2");
  EXPECT_TRUE(f.warnings.empty());
}

TEST(SharedConfigParse, WhitespaceInsideHeadersAndAroundKeysIsTrimmed) {
  const auto f = parse("[  profile   spaced  ]\n\t key\t=\t value with  spaces \t\n",
                       file_kind::config, "cfg");
  EXPECT_EQ(f.profiles.at("spaced").get("key"), "value with  spaces");
}

TEST(SharedConfigParse, ProfileDefaultSupersedesDefaultWhateverTheOrder) {
  for (const bool plain_first : {true, false}) {
    const std::string plain = "[default]\nregion = from-plain\nonly_plain = x\n";
    const std::string prefixed = "[profile default]\nregion = from-prefixed\n";
    const auto f =
        parse(plain_first ? plain + prefixed : prefixed + plain, file_kind::config, "cfg");
    EXPECT_EQ(f.profiles.at("default").get("region"), "from-prefixed") << plain_first;
    EXPECT_FALSE(f.profiles.at("default").get("only_plain")) << plain_first;
    EXPECT_EQ(f.warnings.size(), 1u);
  }
}

TEST(SharedConfigParse, BareSectionInConfigIsIgnoredWithWarning) {
  const auto f = parse("[dev]\nregion = x\n[profile ok]\nregion = y\n", file_kind::config, "cfg");
  EXPECT_EQ(f.profiles.count("dev"), 0u);
  EXPECT_EQ(f.profiles.at("ok").get("region"), "y");
  ASSERT_EQ(f.warnings.size(), 1u);
  EXPECT_NE(f.warnings[0].find("[profile dev]"), std::string::npos) << f.warnings[0];
  EXPECT_NE(f.warnings[0].find("cfg line 1"), std::string::npos) << f.warnings[0];
}

TEST(SharedConfigParse, CredentialsFileTakesPlainNamesAndIgnoresProfilePrefix) {
  const auto f =
      parse("[default]\na = 1\n[dev]\na = 2\n[profile dev]\na = 3\n", file_kind::credentials, "cr");
  EXPECT_EQ(f.profiles.at("default").get("a"), "1");
  EXPECT_EQ(f.profiles.at("dev").get("a"), "2");
  ASSERT_EQ(f.warnings.size(), 1u);
  EXPECT_NE(f.warnings[0].find("without 'profile'"), std::string::npos);
}

TEST(SharedConfigParse, RepeatedSectionsMergeAndLaterValuesWin) {
  const auto f = parse("[profile a]\nx = 1\ny = 1\n[profile b]\nx = 9\n[profile a]\ny = 2\n",
                       file_kind::config, "cfg");
  EXPECT_EQ(f.profiles.at("a").get("x"), "1");
  EXPECT_EQ(f.profiles.at("a").get("y"), "2");
}

TEST(SharedConfigParse, ContinuationLinesAndSubProperties) {
  const auto f = parse(
      "[profile a]\n"
      "s3 =\n"
      "  max_concurrent_requests = 10\n"
      "  region = nested\n"
      "long = first\n"
      "   second # kept: no comments on continuation lines\n"
      "region = top\n",
      file_kind::config, "cfg");
  const auto& a = f.profiles.at("a");
  EXPECT_EQ(a.get("s3"), "max_concurrent_requests = 10\nregion = nested");
  EXPECT_EQ(a.get("long"), "first\nsecond # kept: no comments on continuation lines");
  EXPECT_EQ(a.get("region"), "top");  // the nested region did not leak out
}

TEST(SharedConfigParse, IndentedPropertiesAtTheSameIndentAreSeparateKeys) {
  const auto f = parse("[default]\n  aws_access_key_id = A\n  aws_secret_access_key = B\n",
                       file_kind::credentials, "cr");
  EXPECT_EQ(f.profiles.at("default").get("aws_access_key_id"), "A");
  EXPECT_EQ(f.profiles.at("default").get("aws_secret_access_key"), "B");
}

TEST(SharedConfigParse, EmptyValueCountsAsUnset) {
  const auto f = parse("[default]\naws_session_token =\n", file_kind::credentials, "cr");
  EXPECT_FALSE(f.profiles.at("default").get("aws_session_token"));
  EXPECT_FALSE(f.profiles.at("default").get("missing"));
}

TEST(SharedConfigParse, CrLfLineEndings) {
  const auto f = parse("[default]\r\nregion = r1\r\n", file_kind::config, "cfg");
  EXPECT_EQ(f.profiles.at("default").get("region"), "r1");
}

TEST(SharedConfigParse, EmptyTextHasNoProfiles) {
  EXPECT_TRUE(parse("", file_kind::config, "cfg").profiles.empty());
  EXPECT_TRUE(parse("\n\n# only comments\n", file_kind::credentials, "cr").profiles.empty());
}

TEST(SharedConfigParse, MalformedLinesNameFileLineAndFixWithoutQuotingTheLine) {
  struct bad_case {
    std::string text;
    std::string line;
    std::string hint;
  };
  const std::string secret = test::profile_secret();
  const std::vector<bad_case> cases = {
      {"[default]\naws_access_key_id = A\naws_secret_access_key " + secret + "\n", "line 3",
       "key = value"},
      {"aws_secret_access_key = " + secret + "\n", "line 1", "outside any section"},
      {"[profile x\nk = v\n", "line 1", "closing ']'"},
      {"[default]\n= " + secret + "\n", "line 2", "without a name"},
      {"[default] junk\n", "line 1", "after the section header"},
  };
  for (const auto& c : cases) {
    const std::string msg =
        credentials_error_of([&] { parse(c.text, file_kind::config, "/some/dir/config"); });
    EXPECT_NE(msg.find("/some/dir/config"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.line), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.hint), std::string::npos) << msg;
    EXPECT_EQ(msg.find(secret), std::string::npos) << msg;
  }
}

TEST(SharedConfigParse, PropertiesInIgnoredSectionsAreStillChecked) {
  credentials_error_of([] { parse("[services s]\nnot a property\n", file_kind::config, "cfg"); });
  EXPECT_TRUE(
      parse("[services s]\ns3 =\n  endpoint_url = x\n", file_kind::config, "cfg").profiles.empty());
}

class SharedConfigLoad : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};
};

TEST_F(SharedConfigLoad, MissingFilesAreFine) {
  const auto files = aws_config::load();
  EXPECT_TRUE(files.profiles.empty());
  EXPECT_FALSE(files.config_found);
  EXPECT_FALSE(files.credentials_found);
  EXPECT_EQ(files.config_path, dir.file("config"));
  EXPECT_EQ(files.credentials_path, dir.file("credentials"));
}

TEST_F(SharedConfigLoad, CredentialsFileOverridesConfigForTheSameProfile) {
  dir.write("config",
            "[profile dev]\nregion = eu-west-1\naws_access_key_id = FROMCONFIG\n"
            "aws_secret_access_key = config-secret\n");
  dir.write("credentials", "[dev]\naws_access_key_id = FROMCREDS\naws_secret_access_key = " +
                               test::creds_file_secret() + "\n");
  const auto files = aws_config::load();
  EXPECT_TRUE(files.config_found);
  EXPECT_TRUE(files.credentials_found);
  const auto* dev = files.find_profile("dev");
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->get("aws_access_key_id"), "FROMCREDS");
  EXPECT_EQ(dev->get("aws_secret_access_key"), test::creds_file_secret());
  EXPECT_EQ(dev->get("region"), "eu-west-1");  // kept from config
  EXPECT_EQ(files.find_profile("nope"), nullptr);
}

TEST_F(SharedConfigLoad, DirectoryAtConfigPathIsAnErrorNamingThePath) {
  std::filesystem::create_directory(dir.file("config"));
  const std::string msg = credentials_error_of([] { aws_config::load(); });
  EXPECT_NE(msg.find(dir.file("config")), std::string::npos) << msg;
  EXPECT_NE(msg.find("directory"), std::string::npos) << msg;
  EXPECT_NE(msg.find("AWS_CONFIG_FILE"), std::string::npos) << msg;
}

TEST_F(SharedConfigLoad, UnreadableCredentialsFileIsAnError) {
  const std::string p = dir.write("credentials", "[default]\n");
  ::chmod(p.c_str(), 0);
  ::chmod(dir.path().c_str(), 0711);  // nobody may reach the file but not read it
  // Root reads files whatever their mode, so the check runs in a child that drops to nobody.
  EXPECT_EXIT(
      {
        if (::geteuid() == 0 && ::setuid(65534) != 0) std::_Exit(3);
        const std::string msg = credentials_error_of([] { aws_config::load(); });
        const bool names_path = msg.find(p) != std::string::npos;
        const bool names_variable = msg.find("AWS_SHARED_CREDENTIALS_FILE") != std::string::npos;
        if (!(names_path && names_variable)) fprintf(stderr, "message: %s\n", msg.c_str());
        std::_Exit(names_path && names_variable ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(SharedConfigLoad, MalformedCredentialsFileNamesItsPathAndLine) {
  dir.write("credentials", "[default]\naws_access_key_id = A\ngarbage\n");
  const std::string msg = credentials_error_of([] { aws_config::load(); });
  EXPECT_NE(msg.find(dir.file("credentials") + " line 3"), std::string::npos) << msg;
}

TEST_F(SharedConfigLoad, DefaultPathsComeFromHome) {
  test::scoped_env cfg("AWS_CONFIG_FILE", std::nullopt);
  test::scoped_env creds("AWS_SHARED_CREDENTIALS_FILE", std::nullopt);
  test::scoped_env home("HOME", dir.path());
  std::filesystem::create_directory(dir.file(".aws"));
  dir.write(".aws/config", "[profile home]\nregion = r-home\n");
  const auto files = aws_config::load();
  EXPECT_EQ(files.config_path, dir.file(".aws/config"));
  EXPECT_EQ(files.credentials_path, dir.file(".aws/credentials"));
  ASSERT_NE(files.find_profile("home"), nullptr);
}

TEST_F(SharedConfigLoad, TildeInEnvPathIsExpanded) {
  test::scoped_env home("HOME", dir.path());
  test::scoped_env cfg("AWS_CONFIG_FILE", std::string("~/my-config"));
  dir.write("my-config", "[default]\nregion = r-tilde\n");
  EXPECT_EQ(aws_config::load().find_profile("default")->get("region"), "r-tilde");
}

TEST_F(SharedConfigLoad, SelectedProfileName) {
  EXPECT_EQ(aws_config::selected_profile_name(""), "default");
  test::scoped_env p("AWS_PROFILE", std::string("from-env"));
  EXPECT_EQ(aws_config::selected_profile_name(""), "from-env");
  EXPECT_EQ(aws_config::selected_profile_name("explicit"), "explicit");
}

TEST_F(SharedConfigLoad, ProfileRegionNeverThrows) {
  EXPECT_FALSE(aws_config::profile_region(""));
  dir.write("config", "[default]\nregion = us-west-2\n[profile dev]\nregion = eu-north-1\n");
  EXPECT_EQ(aws_config::profile_region(""), "us-west-2");
  EXPECT_EQ(aws_config::profile_region("dev"), "eu-north-1");
  EXPECT_FALSE(aws_config::profile_region("unknown"));
  dir.write("config", "this is not ini\n");
  EXPECT_NO_THROW(EXPECT_FALSE(aws_config::profile_region("")));
}

}  // namespace
}  // namespace dsql
