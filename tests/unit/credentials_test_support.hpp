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

#include "dsql/errors.hpp"
#include "test_support.hpp"

namespace dsql::test {

// Every secret the credential tests use. Messages must never contain any of them.
inline const std::vector<std::string>& test_secrets() {
  static const std::vector<std::string> secrets = {
      "wJalrSECRETkeyFROMenv0000000000000000000",  "SESSIONtokenFROMenvAAAAAAAAAAAAAAAAAAAAAA",
      "profileSECRETkey1111111111111111111111111", "profileSESSIONtoken22222222222222222222",
      "credsFileSECRET33333333333333333333333333", "processSECRETkey444444444444444444444444",
      "processSESSIONtoken5555555555555555555555", "cacheSECRET666666666666666666666666666666"};
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

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dsql-cred-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = file(name);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + p);
    return p;
  }
  // A /bin/sh script; run directly by path, never through a shell command line.
  std::string script(const std::string& name, const std::string& body) const {
    const std::string p = write(name, "#!/bin/sh\n" + body);
    ::chmod(p.c_str(), 0755);
    return p;
  }

 private:
  std::string path_;
};

// Points the AWS file variables at `dir` and clears every other variable the chain reads, so
// that neither the developer's ~/.aws nor their shell can change a test's outcome.
class isolated_aws_env {
 public:
  explicit isolated_aws_env(const temp_dir& dir) {
    set("AWS_CONFIG_FILE", dir.file("config"));
    set("AWS_SHARED_CREDENTIALS_FILE", dir.file("credentials"));
    for (const char* name :
         {"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
          "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
          "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI"}) {
      set(name, std::nullopt);
    }
    set("AWS_EC2_METADATA_DISABLED", std::string("true"));
  }

 private:
  void set(const char* name, std::optional<std::string> value) {
    vars_.push_back(std::make_unique<scoped_env>(name, std::move(value)));
  }
  std::vector<std::unique_ptr<scoped_env>> vars_;
};

}  // namespace dsql::test
