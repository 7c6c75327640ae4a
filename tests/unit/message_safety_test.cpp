// User-supplied text (hosts, users, profile names, paths, URIs, file contents) reaches error
// messages escaped and truncated: a newline cannot forge a log line, an escape sequence cannot
// drive the terminal, and a 10,000-character value is not printed whole.

#include <gtest/gtest.h>

#include <string>

#include "credentials/shared_config.hpp"
#include "credentials/sources.hpp"
#include "credentials_test_support.hpp"
#include "dsql/config.hpp"
#include "dsql/errors.hpp"
#include "dsql/token.hpp"
#include "util/printable.hpp"

namespace dsql {
namespace {

using test::scoped_env;

// One line of printable text, of a readable length.
void expect_safe(const std::string& msg, std::size_t max_size = 1200) {
  test::expect_no_control_characters(msg);
  EXPECT_LT(msg.size(), max_size) << msg;
}

template <typename E, typename F>
std::string message_of(F&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "nothing was thrown";
  return {};
}

TEST(Printable, EscapesControlsAndTruncates) {
  using util::printable;
  EXPECT_EQ(printable("plain text, caf\xc3\xa9 \xe6\x97\xa5"),
            "plain text, caf\xc3\xa9 \xe6\x97\xa5");
  EXPECT_EQ(printable("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(printable("\x1b[31mred\x7f\x01"), "\\x1b[31mred\\x7f\\x01");
  EXPECT_EQ(printable(std::string("nul\0byte", 8)), "nul\\x00byte");
  EXPECT_EQ(printable("bad \xff utf-8 \xc0\xaf"), "bad \\xff utf-8 \\xc0\\xaf");
  EXPECT_EQ(printable("\xe2\x80\xae"
                      "evil \xc2\x85 \xe2\x80\xa8"),
            "\\u202eevil \\u0085 \\u2028");
  EXPECT_EQ(printable(std::string(300, 'a')), std::string(200, 'a') + "...");
  EXPECT_EQ(printable(std::string(199, 'a') + "\n"), std::string(199, 'a') + "...");
  EXPECT_EQ(printable(std::string(199, 'a') + "\xc3\xa9"), std::string(199, 'a') + "...");
  EXPECT_EQ(printable("  token expired:\n  please run aws sso login  \n", 200,
                      util::whitespace::collapse),
            "token expired: please run aws sso login");
  EXPECT_EQ(util::quoted("dev\n"), "'dev\\n'");
  const std::string once = printable("x\n\x1b\xff\xe2\x80\xae\\n");
  EXPECT_EQ(printable(once), once);
}

const std::string forged = "x\nERROR: forged line \x1b[31mred\x1b[0m\r";
const std::string huge(10000, 'h');

TEST(MessageSafety, HostsAndRegionsInConfigErrors) {
  for (const std::string& host : {std::string("db\n.example.com"), huge + ".example.com", forged}) {
    config cfg;
    cfg.host = host;
    cfg.region = "us-east-1";
    const std::string msg = message_of<config_error>([&] { resolve(cfg); });
    expect_safe(msg);
  }
  config cfg;
  cfg.host = "db.example.com";
  cfg.region = forged + huge;
  expect_safe(message_of<config_error>([&] { resolve(cfg); }));
  const std::string msg = message_of<config_error>([&] {
    config c;
    c.host = "db\nx";
    c.region = "us-east-1";
    resolve(c);
    ;
  });
  EXPECT_NE(msg.find("db\\nx"), std::string::npos) << "escaped, not dropped: " << msg;
}

TEST(MessageSafety, UriErrors) {
  for (const std::string& uri :
       {std::string("evil\nscheme://h/"), "dsql://h/?bad" + forged, "dsql://h:" + forged + "/",
        "dsql://h/?port=" + huge, "dsql://h/?sslmode=" + forged, "dsql://" + huge + "@h:x/"}) {
    expect_safe(message_of<config_error>([&] { parse_connection_uri(uri); }));
  }
}

// A connection string that lost its scheme is taken for a host; its password must not be quoted.
TEST(MessageSafety, HostsThatHoldAPasswordAreNotQuotedWhole) {
  for (const std::string& text : {std::string("admin:hunter2hunter2@h.example.com"),
                                  std::string("hunter2hunter2@h.example.com"),
                                  std::string("admin:hunter2hunter2@h.example.com/postgres")}) {
    config cfg = config_from_string(text);
    cfg.region = "us-east-1";
    const std::string msg = message_of<config_error>([&] { resolve(cfg); });
    EXPECT_EQ(msg.find("hunter2hunter2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("h.example.com"), std::string::npos) << msg;
    expect_safe(msg);
  }
}

// Nor that of a libpq key=value string, or of text before "://" that is not a scheme.
TEST(MessageSafety, ConnectionStringsThatAreNoUrisAreNotQuoted) {
  for (const std::string& text :
       {std::string("host=h.example.com password=hunter2hunter2 dbname=postgres"),
        std::string("h.example.com password=hunter2hunter2"),
        std::string("h.example.com/?password=hunter2hunter2"),
        std::string("h.example.com?password=hunter2hunter2"),
        std::string("admin@h.example.com/?password=hunter2hunter2"),
        std::string("x?password=hunter2hunter2&y=dsql://h.example.com/")}) {
    const std::string msg = message_of<config_error>([&] {
      config cfg = config_from_string(text);
      cfg.region = "us-east-1";
      resolve(cfg);
    });
    EXPECT_EQ(msg.find("hunter2hunter2"), std::string::npos) << msg;
    expect_safe(msg);
  }
}

TEST(MessageSafety, TokenRequestErrors) {
  credentials c;
  c.access_key_id = "AKID";
  c.secret_access_key = "secretsecretsecret";
  c.source = "process:" + forged;
  for (const std::string& host : {forged, huge, "https://" + forged}) {
    expect_safe(message_of<config_error>([&] {
      generate_token(token_request{host, "us-east-1"}, c, std::chrono::system_clock::now());
    }));
  }
  expect_safe(message_of<config_error>([&] {
    generate_token(token_request{"h.example.com", forged}, c, std::chrono::system_clock::now());
  }));
  c.expiration = std::chrono::system_clock::now() - std::chrono::hours(1);
  token_generator gen(std::make_shared<static_credentials_provider>(c));
  expect_safe(message_of<credentials_error>([&] {
    gen.generate(token_request{"h.example.com", "us-east-1"});
  }));
}

class MessageSafetyFiles : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::isolated_aws_env env{dir};
};

TEST_F(MessageSafetyFiles, ProfileNamesAndPaths) {
  for (const std::string& name : {forged, huge}) {
    expect_safe(message_of<credentials_error>(
        [&] { credential_sources::try_profile(aws_config::load(), name, true); }));
    const auto chain = credential_sources::make_default_chain(chain_options{name});
    expect_safe(message_of<credentials_error>([&] { chain->resolve(); }));
  }
  scoped_env cfg("AWS_CONFIG_FILE", dir.file(forged));
  expect_safe(message_of<credentials_error>(
      [&] { credential_sources::try_profile(aws_config::load(), "nope", true); }));
}

TEST_F(MessageSafetyFiles, FileContentsQuotedInErrors) {
  // Section names and values from the files reach messages (ignored sections, source_profile).
  // A line cannot hold a newline, but it can hold escape sequences and bidi overrides.
  const std::string in_file = "x\x1b[2J\x1b[31mred\xe2\x80\xae\x7f";
  dir.write("config", "[" + in_file + "]\nregion = x\n[profile r]\nrole_arn = " + in_file +
                          "\nsource_profile = " + in_file + huge +
                          "\n[profile k]\n"
                          "role_arn = arn:aws:iam::1:role/x\ncredential_source = " +
                          in_file + "\n[profile p]\ncredential_process = " + in_file + "\n");
  const auto files = aws_config::load();
  for (const char* name : {"r", "k", "p", "missing"}) {
    SCOPED_TRACE(name);
    expect_safe(
        message_of<credentials_error>([&] { credential_sources::try_profile(files, name, true); }));
  }
}

TEST_F(MessageSafetyFiles, CredentialProcessStderrIsEscaped) {
  const std::string script =
      dir.script("noisy.sh", "printf 'bad\\033[2J\\033]0;title\\007 thing\\n' >&2\nexit 1\n");
  const std::string msg = message_of<credentials_error>(
      [&] { credential_sources::run_credential_process(script, "p", std::chrono::seconds(10)); });
  expect_safe(msg);
  EXPECT_NE(msg.find("bad\\x1b[2J"), std::string::npos) << msg;
}

}  // namespace
}  // namespace dsql
