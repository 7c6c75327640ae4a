// util::write_file_atomically, the one way the library writes a file (the token caches it
// refreshes): whole or not at all, 0600 whatever the umask or the old mode, a symlink replaced
// rather than followed, and nothing left behind when it fails.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "credentials_test_support.hpp"
#include "util/write_file.hpp"

namespace dsql {
namespace {

using test::credentials_error_of;

std::size_t entries(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

TEST(AtomicWrite, ReplacesTheFileWith0600WhateverTheUmaskOrOldMode) {
  test::temp_dir dir;
  const std::string p = dir.write("token.json", "old contents that are longer than the new");
  ::chmod(p.c_str(), 0644);
  const mode_t old_umask = ::umask(0);
  util::write_file_atomically(p, "{\"new\":true}", "the cache", "fix it");
  ::umask(old_umask);
  EXPECT_EQ(test::read_file(p), "{\"new\":true}");
  EXPECT_EQ(mode_of(p) & 0777, 0600u);
  EXPECT_EQ(entries(dir.path()), 1u);

  const std::string fresh = dir.file("new.json");
  util::write_file_atomically(fresh, "x", "the cache", "fix it");
  EXPECT_EQ(test::read_file(fresh), "x");
  EXPECT_EQ(mode_of(fresh) & 0777, 0600u);
}

TEST(AtomicWrite, ASymlinkIsReplacedNotFollowed) {
  test::temp_dir dir;
  const std::string target = dir.write("elsewhere", "keep me");
  const std::string link = dir.file("token.json");
  std::filesystem::create_symlink(target, link);
  util::write_file_atomically(link, "new", "the cache", "fix it");
  EXPECT_TRUE(S_ISREG(mode_of(link)));
  EXPECT_EQ(test::read_file(link), "new");
  EXPECT_EQ(test::read_file(target), "keep me");
}

TEST(AtomicWrite, FailuresNameTheFileAndLeaveNothingBehind) {
  test::temp_dir dir;
  // A directory where the file should be: the rename fails (even for root).
  std::filesystem::create_directory(dir.file("token.json"));
  std::string msg = credentials_error_of([&] {
    util::write_file_atomically(dir.file("token.json"), "x", "the refreshed token", "check it");
  });
  EXPECT_NE(msg.find("the refreshed token " + dir.file("token.json") + " cannot be written: "),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("; check it"), std::string::npos) << msg;
  EXPECT_EQ(entries(dir.path()), 1u) << "the temporary file was left behind";

  msg = credentials_error_of([&] {
    util::write_file_atomically(dir.file("missing/token.json"), "x", "the cache", "check it");
  });
  EXPECT_NE(msg.find("cannot be written: No such file or directory"), std::string::npos) << msg;
}

}  // namespace
}  // namespace dsql
