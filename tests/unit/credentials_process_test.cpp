#include <gtest/gtest.h>
#include <sys/wait.h>

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "credentials/sources.hpp"
#include "credentials_test_support.hpp"

namespace dsql {
namespace {

using namespace std::chrono_literals;
using credential_sources::parse_process_output;
using credential_sources::run_credential_process;
using credential_sources::split_command_line;
using test::credentials_error_of;

std::string good_json(const std::string& extra = "") {
  return "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"" +
         test::process_secret() + "\", \"SessionToken\": \"" + test::process_token() + "\"" +
         extra + "}";
}

// No child may be left unreaped (a zombie) after a run, whatever the outcome.
void expect_no_children_left() {
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// True once `pid` has stopped running: gone, or a zombie its new parent has not reaped yet.
// Waits up to two seconds, since a SIGKILL is delivered asynchronously.
bool stopped(pid_t pid) {
  for (int i = 0; i < 40; ++i) {
    const std::string stat = test::read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');  // "pid (comm) state ..."; comm may hold ')'
    if (close == std::string::npos || stat.compare(close, 3, ") Z") == 0) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// The helper wrote the PID of a child it started to `pid_file`: that child must have been
// killed with the helper, and nothing left unreaped.
void expect_killed_with_the_helper(const std::string& pid_file) {
  pid_t pid = 0;
  for (int i = 0; i < 40 && pid == 0; ++i) {
    const std::string text = test::read_file(pid_file);
    if (!text.empty() && text.back() == '\n') {
      pid = static_cast<pid_t>(std::stol(text));
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_GT(pid, 0) << "no pid written to " << pid_file;
  EXPECT_TRUE(stopped(pid)) << "the helper's child " << pid << " survived";
  if (!stopped(pid)) ::kill(pid, SIGKILL);
  expect_no_children_left();
}

TEST(SplitCommandLine, FollowsPosixShlexRules) {
  using v = std::vector<std::string>;
  EXPECT_EQ(split_command_line("a b\tc"), (v{"a", "b", "c"}));
  EXPECT_EQ(split_command_line("  lead  trail  "), (v{"lead", "trail"}));
  EXPECT_EQ(split_command_line("'single quoted' \"double quoted\""),
            (v{"single quoted", "double quoted"}));
  EXPECT_EQ(split_command_line(R"(a\ b c\\d "x\"y" 'it\s' "\q")"),
            (v{"a b", "c\\d", "x\"y", "it\\s", "\\q"}));
  EXPECT_EQ(split_command_line(R"(pre'mid dle'post "" '')"), (v{"premid dlepost", "", ""}));
  EXPECT_EQ(split_command_line("$HOME;|&>"), (v{"$HOME;|&>"}));
  EXPECT_TRUE(split_command_line("   ").empty());
  credentials_error_of([] { split_command_line("a 'b"); });
  credentials_error_of([] { split_command_line("a \"b"); });
  credentials_error_of([] { split_command_line("a\\"); });
}

TEST(ProcessOutput, FullOutput) {
  const auto c = parse_process_output(good_json(", \"Expiration\": \"2030-01-02T03:04:05Z\""), "p");
  EXPECT_EQ(c.access_key_id, "AKIDPROC");
  EXPECT_EQ(c.secret_access_key, test::process_secret());
  EXPECT_EQ(c.session_token, test::process_token());
  ASSERT_TRUE(c.expiration);
  EXPECT_EQ(*c.expiration, test::at("2030-01-02T03:04:05Z"));
  EXPECT_EQ(c.source, "process:p");
}

TEST(ProcessOutput, MinimalOutputNeverExpires) {
  const auto c =
      parse_process_output("{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" +
                               test::process_secret() + "\",\"SessionToken\":null}",
                           "p");
  EXPECT_EQ(c.session_token, "");
  EXPECT_FALSE(c.expiration);
}

TEST(ProcessOutput, BadOutputIsAnErrorNamingProfileAndProblemButNotTheOutput) {
  const std::string s = test::process_secret();
  struct bad {
    std::string json;
    std::string expect;
  };
  const std::vector<bad> cases = {
      {"not json " + s, "not valid JSON"},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + s + "\"", "not valid JSON"},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + s + "\"} trailing",
       "not valid JSON"},
      {"[\"" + s + "\"]", "not an object"},
      {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + s + "\"}", "no \"Version\""},
      {"{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + s + "\"}", "\"Version\" 2"},
      {"{\"Version\":\"1\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + s + "\"}",
       "\"Version\" string"},
      {"{\"Version\":1,\"SecretAccessKey\":\"" + s + "\"}", "no \"AccessKeyId\""},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SessionToken\":\"" + test::process_token() + "\"}",
       "no \"SecretAccessKey\""},
      {"{\"Version\":1,\"AccessKeyId\":7,\"SecretAccessKey\":\"" + s + "\"}",
       "\"AccessKeyId\" that is not a non-empty string"},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"\"}",
       "\"SecretAccessKey\" that is not a non-empty string"},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + s +
           "\",\"SessionToken\":{\"t\":\"" + test::process_token() + "\"}}",
       "\"SessionToken\" that is not a string"},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + s +
           "\",\"Expiration\":\"tomorrow\"}",
       "\"Expiration\" that is not an RFC 3339"},
  };
  for (const auto& c : cases) {
    const std::string msg = credentials_error_of([&] { parse_process_output(c.json, "myprof"); });
    EXPECT_NE(msg.find("'myprof'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "want '" << c.expect << "' in: " << msg;
  }
}

class CredentialProcess : public ::testing::Test {
 protected:
  test::temp_dir dir;

  // A helper that prints `json` on stdout.
  std::string printer(const std::string& name, const std::string& json) const {
    dir.write(name + ".json", json);
    return dir.script(name, "cat '" + dir.file(name + ".json") + "'\n");
  }
};

TEST_F(CredentialProcess, SuccessWithExpiration) {
  const std::string cmd =
      printer("ok", good_json(", \"Expiration\": \"2031-05-06T07:08:09+02:00\""));
  const auto c = run_credential_process(cmd, "p", 10s);
  EXPECT_EQ(c.access_key_id, "AKIDPROC");
  EXPECT_EQ(c.secret_access_key, test::process_secret());
  EXPECT_EQ(c.session_token, test::process_token());
  ASSERT_TRUE(c.expiration);
  EXPECT_EQ(*c.expiration, test::at("2031-05-06T05:08:09Z"));
  EXPECT_EQ(c.source, "process:p");
  expect_no_children_left();
}

TEST_F(CredentialProcess, SuccessWithoutExpiration) {
  const auto c = run_credential_process(printer("noexp", good_json()), "p", 10s);
  EXPECT_EQ(c.access_key_id, "AKIDPROC");
  EXPECT_FALSE(c.expiration);
}

TEST_F(CredentialProcess, ProgramIsFoundOnPath) {
  // `printf` is looked up on PATH (posix_spawnp), with no shell involved.
  const auto c = run_credential_process(
      "printf '{\"Version\":1,\"AccessKeyId\":\"AKIDPATH\",\"SecretAccessKey\":\"%s\"}' " +
          test::process_secret(),
      "p", 10s);
  EXPECT_EQ(c.access_key_id, "AKIDPATH");
  EXPECT_EQ(c.secret_access_key, test::process_secret());
}

TEST_F(CredentialProcess, QuotedArgumentsArriveIntactAndUnexpanded) {
  // The helper echoes its argument count and arguments back as the access key id.
  const std::string script = dir.script(
      "args.sh",
      "printf '{\"Version\":1,\"AccessKeyId\":\"%s|%s|%s|%s\",\"SecretAccessKey\":\"s\"}' "
      "\"$#\" \"$1\" \"$2\" \"$3\"\n");
  const auto c =
      run_credential_process("'" + script + "' \"hello world\" 'a  b;c|d' $HOME\\ x", "p", 10s);
  EXPECT_EQ(c.access_key_id, "3|hello world|a  b;c|d|$HOME x");
}

TEST_F(CredentialProcess, StdinIsEmptyAndDoesNotBlock) {
  const std::string script =
      dir.script("stdin.sh",
                 "input=$(cat)\nprintf '{\"Version\":1,\"AccessKeyId\":\"in[%s]\","
                 "\"SecretAccessKey\":\"s\"}' \"$input\"\n");
  EXPECT_EQ(run_credential_process(script, "p", 10s).access_key_id, "in[]");
}

TEST_F(CredentialProcess, NonZeroExitIncludesStderrButNotStdout) {
  const std::string script = dir.script(
      "fail.sh", "echo '" + good_json() +
                     "'\necho 'token expired:' >&2\necho '  please run aws sso login  ' >&2\n"
                     "exit 3\n");
  const std::string msg = credentials_error_of([&] { run_credential_process(script, "p", 10s); });
  EXPECT_NE(msg.find("'p'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("exit status 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("token expired: please run aws sso login"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("AKIDPROC"), std::string::npos) << msg;
  expect_no_children_left();
}

TEST_F(CredentialProcess, LongStderrIsTruncated) {
  const std::string script =
      dir.script("noisy.sh",
                 "i=0\nwhile [ $i -lt 2000 ]; do echo \"line $i\" >&2; i=$((i+1)); "
                 "done\nexit 1\n");
  const std::string msg = credentials_error_of([&] { run_credential_process(script, "p", 10s); });
  EXPECT_NE(msg.find("line 0 line 1"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 1000u);
}

TEST_F(CredentialProcess, NonZeroExitWithoutStderr) {
  const std::string msg = credentials_error_of(
      [&] { run_credential_process(dir.script("quiet.sh", "exit 7\n"), "p", 10s); });
  EXPECT_NE(msg.find("exit status 7 and printed nothing on stderr"), std::string::npos) << msg;
}

TEST_F(CredentialProcess, HangIsKilledAfterTheTimeoutAndReaped) {
  const std::string script = dir.script("hang.sh", "exec sleep 30\n");
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = credentials_error_of([&] { run_credential_process(script, "p", 1s); });
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(msg.find("timed out after 1 s"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'p'"), std::string::npos) << msg;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 5s);
  expect_no_children_left();
}

TEST_F(CredentialProcess, ChildThatClosesOutputButLingersAlsoTimesOut) {
  const std::string script = dir.script("linger.sh", "exec >&- 2>&-\nexec sleep 30\n");
  const std::string msg = credentials_error_of([&] { run_credential_process(script, "p", 500ms); });
  EXPECT_NE(msg.find("timed out after 500 ms"), std::string::npos) << msg;
  expect_no_children_left();
}

TEST_F(CredentialProcess, TimeoutKillsTheHelpersOwnChildrenToo) {
  // The helper starts a child that keeps the output pipe open, then hangs itself.
  const std::string pid_file = dir.file("grandchild.pid");
  const std::string script =
      dir.script("family.sh", "sleep 30 &\necho $! > '" + pid_file + "'\nexec sleep 30\n");
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = credentials_error_of([&] { run_credential_process(script, "p", 1s); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_NE(msg.find("timed out after 1 s"), std::string::npos) << msg;
  expect_killed_with_the_helper(pid_file);
}

TEST_F(CredentialProcess, HelperThatExitsButLeavesItsOutputOpenIsNotWaitedFor) {
  // The helper prints its JSON and exits; a child it started in the background holds stdout.
  const std::string pid_file = dir.file("daemon.pid");
  dir.write("creds.json", good_json());
  const std::string script =
      dir.script("daemon.sh", "sleep 30 &\necho $! > '" + pid_file + "'\ncat '" +
                                  dir.file("creds.json") + "'\nexit 0\n");
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = credentials_error_of([&] { run_credential_process(script, "p", 20s); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "waited for the pipe to close";
  EXPECT_NE(msg.find("exited but left its standard output open"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'p'"), std::string::npos) << msg;
  expect_killed_with_the_helper(pid_file);
}

TEST_F(CredentialProcess, BadJsonVersionAndMissingKeysFromARealProcess) {
  const std::string s = test::process_secret();
  EXPECT_NE(credentials_error_of([&] {
              run_credential_process(printer("bad", "oops " + s), "p", 10s);
            }).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(credentials_error_of([&] {
              run_credential_process(
                  printer("v2", "{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" + s +
                                    "\"}"),
                  "p", 10s);
            }).find("\"Version\" 2"),
            std::string::npos);
  EXPECT_NE(credentials_error_of([&] {
              run_credential_process(printer("nokey", "{\"Version\":1,\"AccessKeyId\":\"A\"}"), "p",
                                     10s);
            }).find("no \"SecretAccessKey\""),
            std::string::npos);
}

TEST_F(CredentialProcess, MissingProgramNamesItButNotItsArguments) {
  const std::string msg = credentials_error_of([&] {
    run_credential_process(dir.file("no-such-helper") + " --token " + test::process_token(), "p",
                           10s);
  });
  EXPECT_NE(msg.find(dir.file("no-such-helper")), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
}

TEST_F(CredentialProcess, EmptyOrBadlyQuotedCommandLine) {
  EXPECT_NE(credentials_error_of([] { run_credential_process("  ", "p", 1s); }).find("empty"),
            std::string::npos);
  EXPECT_NE(credentials_error_of([] {
              run_credential_process("helper '" + test::process_token(), "p", 1s);
            }).find("unterminated single quote"),
            std::string::npos);
}

TEST_F(CredentialProcess, KilledBySignal) {
  const std::string msg = credentials_error_of(
      [&] { run_credential_process(dir.script("sig.sh", "kill -9 $$\n"), "p", 10s); });
  EXPECT_NE(msg.find("signal 9"), std::string::npos) << msg;
}

}  // namespace
}  // namespace dsql
