#pragma once

// Helpers for the credential tests: a private temp directory, an environment cleared of every
// variable the chain reads, and error capture that checks no secret leaked into the message.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "credentials/sources.hpp"
#include "dsql/errors.hpp"
#include "support/scratch_dir.hpp"
#include "test_support.hpp"
#include "util/time_format.hpp"

namespace dsql::test {

// Every secret the credential tests use. Messages must never contain any of them.
inline const std::vector<std::string>& test_secrets() {
  static const std::vector<std::string> secrets = {
      "wJalrSECRETkeyFROMenv0000000000000000000", "SESSIONtokenFROMenvAAAAAAAAAAAAAAAAAAAAAA",
      "profileSECRETkey1111111111111111111111111", "profileSESSIONtoken22222222222222222222",
      "credsFileSECRET33333333333333333333333333", "processSECRETkey444444444444444444444444",
      "processSESSIONtoken5555555555555555555555", "cacheSECRET666666666666666666666666666666",
      // Cloud sources: what the fake servers hand out and the tokens the tests feed in.
      "cloudSECRETkey77777777777777777777777777777", "cloudSESSIONtoken888888888888888888888888",
      "webIDENTITYjwt.eyJzdWIiOiJ0ZXN0In0.999999999", "ssoACCESStoken000000000000000000000000000",
      "containerAUTHtokenAAAAAAAAAAAAAAAAAAAAAAAA", "baseSECRETkeyBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
      // `aws login` sessions and SSO token refresh: what the caches hold and the fakes hand out.
      "loginSECRETkeyCCCCCCCCCCCCCCCCCCCCCCCCCCC", "loginSESSIONtokenDDDDDDDDDDDDDDDDDDDDDDDD",
      "loginREFRESHtokenEEEEEEEEEEEEEEEEEEEEEEEE", "loginROTATEDrefreshFFFFFFFFFFFFFFFFFFFFF",
      "refreshedSECRETkeyGGGGGGGGGGGGGGGGGGGGGGG", "refreshedSESSIONtokenHHHHHHHHHHHHHHHHHHHH",
      "ssoREFRESHtokenIIIIIIIIIIIIIIIIIIIIIIIIIII", "ssoCLIENTsecretJJJJJJJJJJJJJJJJJJJJJJJJJJ",
      "ssoNEWaccessTOKENKKKKKKKKKKKKKKKKKKKKKKKKK", "ssoROTATEDrefreshLLLLLLLLLLLLLLLLLLLLLLLL"};
  return secrets;
}
inline const std::string& env_secret() {
  return test_secrets()[0];
}
inline const std::string& env_token() {
  return test_secrets()[1];
}
inline const std::string& profile_secret() {
  return test_secrets()[2];
}
inline const std::string& profile_token() {
  return test_secrets()[3];
}
inline const std::string& creds_file_secret() {
  return test_secrets()[4];
}
inline const std::string& process_secret() {
  return test_secrets()[5];
}
inline const std::string& process_token() {
  return test_secrets()[6];
}
inline const std::string& cache_secret() {
  return test_secrets()[7];
}

inline const std::string& cloud_secret() {
  return test_secrets()[8];
}
inline const std::string& cloud_token() {
  return test_secrets()[9];
}
inline const std::string& web_identity_token() {
  return test_secrets()[10];
}
inline const std::string& sso_access_token() {
  return test_secrets()[11];
}
inline const std::string& container_auth_token() {
  return test_secrets()[12];
}
inline const std::string& base_secret() {
  return test_secrets()[13];
}
inline const std::string& login_secret() {
  return test_secrets()[14];
}
inline const std::string& login_token() {
  return test_secrets()[15];
}
inline const std::string& login_refresh_token() {
  return test_secrets()[16];
}
inline const std::string& login_rotated_refresh_token() {
  return test_secrets()[17];
}
inline const std::string& refreshed_secret() {
  return test_secrets()[18];
}
inline const std::string& refreshed_token() {
  return test_secrets()[19];
}
inline const std::string& sso_refresh_token() {
  return test_secrets()[20];
}
inline const std::string& sso_client_secret() {
  return test_secrets()[21];
}
inline const std::string& sso_new_access_token() {
  return test_secrets()[22];
}
inline const std::string& sso_rotated_refresh_token() {
  return test_secrets()[23];
}

inline void expect_no_secrets(const std::string& message) {
  for (const auto& s : test_secrets()) {
    EXPECT_EQ(message.find(s), std::string::npos) << "secret leaked into: " << message;
  }
}

// Runs `fn`, expects a dsql::credentials_error, checks it carries no secret and returns what().
inline std::string credentials_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const credentials_error& e) {
    expect_no_secrets(e.what());
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected credentials_error, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected credentials_error, nothing was thrown";
  return {};
}

// --- Cloud sources: answers shaped as AWS documents them, and short network settings. ---------

// An ISO 8601 time `from_now` away (negative: in the past).
inline std::string iso_in(std::chrono::seconds from_now) {
  return util::format_iso8601(std::chrono::system_clock::now() + from_now);
}

// What IMDS and the container endpoints send (note Token, not SessionToken).
inline std::string metadata_credentials_json(const std::string& access_key_id,
                                             const std::string& expiration) {
  return "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2026-01-01T00:00:00Z\",\n"
         "  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"" +
         access_key_id + "\",\n  \"SecretAccessKey\" : \"" + cloud_secret() +
         "\",\n  \"Token\" : \"" + cloud_token() + "\",\n  \"Expiration\" : \"" + expiration +
         "\"\n}";
}

// An STS AssumeRole / AssumeRoleWithWebIdentity success document.
inline std::string sts_success_xml(const std::string& action, const std::string& access_key_id,
                                   const std::string& expiration) {
  return "<" + action + "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <" +
         action + "Result>\n    <Credentials>\n      <AccessKeyId>" + access_key_id +
         "</AccessKeyId>\n      <SecretAccessKey>" + cloud_secret() +
         "</SecretAccessKey>\n      <SessionToken>" + cloud_token() +
         "</SessionToken>\n      <Expiration>" + expiration +
         "</Expiration>\n    </Credentials>\n    <AssumedRoleUser>\n      <Arn>arn:aws:sts::"
         "123456789012:assumed-role/r/s</Arn>\n      <AssumedRoleId>AROA:s</AssumedRoleId>\n    "
         "</AssumedRoleUser>\n  </" +
         action +
         "Result>\n  <ResponseMetadata>\n    <RequestId>c6104cbe-af31-11e0-8154-"
         "cbc7ccf896c7</RequestId>\n  </ResponseMetadata>\n</" +
         action + "Response>\n";
}

inline std::string sts_error_xml(const std::string& code, const std::string& message) {
  return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    "
         "<Type>Sender</Type>\n    <Code>" +
         code + "</Code>\n    <Message>" + message +
         "</Message>\n  </Error>\n  <RequestId>5f1a0d1e-0000-0000-0000-000000000000</RequestId>"
         "\n</ErrorResponse>\n";
}

// Short timeouts and no pauses, so that failure tests finish in a fraction of a second.
inline credential_sources::network_settings fast_network() {
  credential_sources::network_settings n;
  n.imds_timeout = std::chrono::milliseconds(300);
  n.imds_attempts = 1;
  n.container_timeout = std::chrono::milliseconds(300);
  n.container_attempts = 2;
  n.service_connect_timeout = std::chrono::milliseconds(300);
  n.service_timeout = std::chrono::milliseconds(500);
  n.service_attempts = 2;
  n.retry_delay = std::chrono::milliseconds(10);
  return n;
}

// The credentials tests' name for it.
using temp_dir = scratch_dir;

// Points the AWS file variables at `dir` and clears every other variable the chain reads, so
// that neither the developer's ~/.aws nor their shell can change a test's outcome.
class isolated_aws_env {
 public:
  explicit isolated_aws_env(const temp_dir& dir) {
    set("AWS_CONFIG_FILE", dir.file("config"));
    set("AWS_SHARED_CREDENTIALS_FILE", dir.file("credentials"));
    for (const char* name : {"AWS_PROFILE",
                             "AWS_DEFAULT_PROFILE",
                             "AWS_ACCESS_KEY_ID",
                             "AWS_SECRET_ACCESS_KEY",
                             "AWS_SESSION_TOKEN",
                             "AWS_SECURITY_TOKEN",
                             "AWS_REGION",
                             "AWS_DEFAULT_REGION",
                             "AWS_WEB_IDENTITY_TOKEN_FILE",
                             "AWS_ROLE_ARN",
                             "AWS_ROLE_SESSION_NAME",
                             "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                             "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                             "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                             "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                             "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                             "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                             "AWS_EC2_METADATA_V1_DISABLED",
                             "AWS_METADATA_SERVICE_TIMEOUT",
                             "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
                             "AWS_ENDPOINT_URL",
                             "AWS_ENDPOINT_URL_STS",
                             "AWS_ENDPOINT_URL_SSO",
                             "AWS_ENDPOINT_URL_SSO_OIDC",
                             "AWS_ENDPOINT_URL_SIGNIN",
                             "AWS_LOGIN_CACHE_DIRECTORY",
                             "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"}) {
      set(name, std::nullopt);
    }
    // Tests must never reach the real instance metadata service; those that want IMDS turn it
    // back on with an endpoint on 127.0.0.1.
    set("AWS_EC2_METADATA_DISABLED", std::string("true"));
    // The SSO and login token caches live under ~/.aws/sso/cache and ~/.aws/login/cache.
    set("HOME", dir.path());
  }

 private:
  void set(const char* name, std::optional<std::string> value) {
    vars_.push_back(std::make_unique<scoped_env>(name, std::move(value)));
  }
  std::vector<std::unique_ptr<scoped_env>> vars_;
};

}  // namespace dsql::test
