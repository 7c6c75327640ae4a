// Every file the library reads is refused unless it is a regular file of a few MiB: a FIFO would
// block forever, /dev/zero never ends, and a huge file would be read into memory.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>

#include "credentials/shared_config.hpp"
#include "credentials/sources.hpp"
#include "credentials_test_support.hpp"

namespace dsql {
namespace {

using test::credentials_error_of;
using test::scoped_env;

class BoundedFiles : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};

  std::string fifo(const std::string& name) const {
    const std::string p = dir.file(name);
    if (::mkfifo(p.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    return p;
  }

  // A sparse regular file one byte over the 4 MiB limit.
  std::string oversized(const std::string& name) const {
    const std::string p = dir.write(name, "[default]\n");
    std::filesystem::resize_file(p, (4u << 20) + 1);
    return p;
  }

  // Runs `fn` on a thread and expects a refusal naming `path` and `problem` within a few
  // seconds. A FIFO that is opened for reading anyway is unblocked by opening its write end,
  // so that a failing test ends instead of hanging.
  void expect_refused(const std::function<void()>& fn, const std::string& path,
                      const std::string& problem) {
    auto result = std::async(std::launch::async, [&] { return credentials_error_of(fn); });
    if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      ADD_FAILURE() << "still reading " << path << " after 5 s";
      const int w = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
      if (w >= 0) ::close(w);
    }
    const std::string msg = result.get();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << msg;
  }
};

TEST_F(BoundedFiles, ConfigFileThatIsADeviceIsRefused) {
  scoped_env cfg("AWS_CONFIG_FILE", std::string("/dev/zero"));
  expect_refused([] { aws_config::load(); }, "/dev/zero", "not a regular file");
}

TEST_F(BoundedFiles, ConfigFileThatIsAFifoIsRefused) {
  const std::string p = fifo("config-fifo");
  scoped_env cfg("AWS_CONFIG_FILE", p);
  expect_refused([] { aws_config::load(); }, p, "not a regular file");
}

TEST_F(BoundedFiles, CredentialsFileThatIsAFifoIsRefused) {
  const std::string p = fifo("credentials-fifo");
  scoped_env cfg("AWS_SHARED_CREDENTIALS_FILE", p);
  expect_refused([] { aws_config::load(); }, p, "AWS_SHARED_CREDENTIALS_FILE");
}

TEST_F(BoundedFiles, SymlinksAreFollowedBeforeTheCheck) {
  const std::string real = dir.write("real-config", "[profile dev]\nregion = eu-west-1\n");
  std::filesystem::create_symlink(real, dir.file("link-to-config"));
  std::filesystem::create_symlink("/dev/zero", dir.file("link-to-zero"));
  {
    scoped_env cfg("AWS_CONFIG_FILE", dir.file("link-to-config"));
    ASSERT_NE(aws_config::load().find_profile("dev"), nullptr);
  }
  scoped_env cfg("AWS_CONFIG_FILE", dir.file("link-to-zero"));
  expect_refused([] { aws_config::load(); }, dir.file("link-to-zero"), "not a regular file");
}

TEST_F(BoundedFiles, ConfigFileOverTheLimitIsRefusedNamingTheLimit) {
  const std::string p = oversized("huge-config");
  scoped_env cfg("AWS_CONFIG_FILE", p);
  expect_refused([] { aws_config::load(); }, p, "4 MiB");
}

TEST_F(BoundedFiles, WebIdentityTokenFileMustBeARegularFileOfBoundedSize) {
  scoped_env role("AWS_ROLE_ARN", std::string("arn:aws:iam::123456789012:role/r"));
  const auto net = test::fast_network();
  const std::string f = fifo("token-fifo");
  {
    scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", f);
    expect_refused([&] { credential_sources::try_web_identity(net, std::nullopt); }, f,
                   "not a regular file");
  }
  const std::string big = oversized("token-huge");
  scoped_env tf("AWS_WEB_IDENTITY_TOKEN_FILE", big);
  expect_refused([&] { credential_sources::try_web_identity(net, std::nullopt); }, big, "4 MiB");
}

TEST_F(BoundedFiles, ContainerAuthorizationTokenFileMustBeARegularFile) {
  scoped_env full("AWS_CONTAINER_CREDENTIALS_FULL_URI", std::string("http://127.0.0.1:9/creds"));
  scoped_env tf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", std::string("/dev/zero"));
  const auto net = test::fast_network();
  expect_refused([&] { credential_sources::fetch_container(net); }, "/dev/zero",
                 "not a regular file");
}

TEST_F(BoundedFiles, SsoTokenCacheMustBeARegularFile) {
  dir.write("config",
            "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
            "sso_role_name = ReadOnly\n[sso-session corp]\nsso_region = us-east-1\n"
            "sso_start_url = https://d-92671207e4.awsapps.com/start\n");
  std::filesystem::create_directories(dir.file(".aws/sso/cache"));
  const std::string cache =
      fifo(".aws/sso/cache/" + credential_sources::sso_cache_file_name("corp"));
  const auto net = test::fast_network();
  expect_refused(
      [&] {
        credential_sources::try_profile(aws_config::load(), "sso", true,
                                        credential_sources::default_process_timeout, net);
      },
      cache, "not a regular file");
}

}  // namespace
}  // namespace dsql
